package gateway

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parigot.dev/parigot/internal/browsertest"
	"parigot.dev/parigot/runtime/internal/native"
)

// callerPage is a web page that calls the gateway at %[1]s from the
// browser, as a web app would: Connect's unary JSON, and the REST path of
// Say. What each call gave lands in the page, as its data-connect and
// data-rest attributes.
const callerPage = `<!doctype html>
<html><body><script>
function show(name, p) {
  p.then(r => r.json()).then(j => j.greeting || JSON.stringify(j))
   .catch(e => "blocked: " + e)
   .then(v => { document.body.dataset[name] = v; });
}
show("connect", fetch("%[1]s/test.v1.Echo/Say", {method: "POST",
  headers: {"Content-Type": "application/json", "Connect-Protocol-Version": "1"},
  body: JSON.stringify({name: "connect"})}));
show("rest", fetch("%[1]s/v1/say/rest", {method: "POST",
  headers: {"Content-Type": "application/json"}, body: "{}"}));
</script></body></html>`

// TestBrowsersCallTheGatewayFromTheOriginsItAllows loads a page in
// headless Chromium from an origin cors_origins lists, and one from an
// origin it does not, each calling the gateway: the browser, not the test,
// decides from the gateway's answers whether the page may read them.
func TestBrowsersCallTheGatewayFromTheOriginsItAllows(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	ctx := browsertest.Start(t, 2*time.Minute)
	var gatewayURL string
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, callerPage, gatewayURL)
	})
	allowed, other := httptest.NewServer(page), httptest.NewServer(page) // two ports: two origins
	defer allowed.Close()
	defer other.Close()

	schema, err := ParseSchema(testSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Start(Spec{Name: "test", Listen: "127.0.0.1:0", Services: []string{"test.v1.Echo"}, CORSOrigins: []string{allowed.URL}}, schema,
		services{&fakeService{tame: true}}, native.NewCaller(NativeIdentity), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	gatewayURL = srv.URL()

	results := func(url string) (connect, rest string) {
		t.Helper()
		if err := chromedp.Do(ctx,
			chromedp.Navigate(url),
			chromedp.WaitReady(chromedp.CSS(`body[data-connect][data-rest]`)),
		); err != nil {
			t.Fatalf("driving Chromium at %s: %v", url, err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[document.body.dataset.connect, document.body.dataset.rest]`))
		if err != nil || len(got) != 2 {
			t.Fatalf("reading the page at %s: %v %q", url, err, got)
		}
		connect, rest = got[0], got[1]
		return connect, rest
	}
	if connect, rest := results(allowed.URL); connect != "Hello, connect!" || rest != "Hello, rest!" {
		t.Errorf("a page of %s, which cors_origins lists, got %q over Connect and %q over REST; want both greetings", allowed.URL, connect, rest)
	}
	if connect, rest := results(other.URL); !strings.HasPrefix(connect, "blocked: ") || !strings.HasPrefix(rest, "blocked: ") {
		t.Errorf("a page of %s, which cors_origins does not list, read %q over Connect and %q over REST; want the browser to block both", other.URL, connect, rest)
	}
}
