package apptest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// A split topology test's gateway calls the services the way `parigot run
// --mode=split`'s does: over the direct connections it makes once they
// are ready, not through the NATS server, which carries none of its
// calls (split.Server.CallsCarried). Its calls then take the path users'
// take, with its latency and its failures.
func TestASplitGatewayCallsOverDirectConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an app, which Start skips under -short")
	}
	if raceEnabled {
		// Its work is in the app's processes, which start several times
		// slower under the detector (a 6 MB guest compiled in each) and
		// which it does not see; the race run has this package's own
		// concurrency to look at, and this test runs without it.
		t.Skip("its work is in the app's processes, which the race detector does not see")
	}
	t.Setenv(EnvMode, "")
	app := Start(t, "../../examples/bookstore", Split)
	url := app.Gateway(t, "public")
	const service = "bookstore.v1.Bookstore"
	before := app.server.CallsCarried(service)
	const calls = 20
	for i := range calls {
		resp, err := http.Get(url + "/v1/books/1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"title":"The Go Programming Language"`) {
			t.Fatalf("call %d: GET /v1/books/1: %d %s", i, resp.StatusCode, body)
		}
	}
	if n := app.server.CallsCarried(service) - before; n != 0 {
		t.Errorf("the NATS server carried %d messages to %s during the gateway's %d calls, want none: the calls went through it", n, service, calls)
	}
}
