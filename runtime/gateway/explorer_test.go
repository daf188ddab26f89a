package gateway

import (
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/native"
)

// TestTheExplorerCallsEveryServiceWithJSON serves the explorer of an app
// whose guest implements both services of testProto, though no gateway
// serves Hidden: the explorer is a local tool for the whole app.
func TestTheExplorerCallsEveryServiceWithJSON(t *testing.T) {
	schema, err := ParseSchema(testSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeService{}
	guests := []*host.GuestSpec{
		{Name: "hello", Kind: host.Program, Requires: []string{"echo"}},
		{Name: "echo", Kind: host.Service, Implements: []string{"test.v1.Echo", "test.v1.Hidden"}},
	}
	h, err := newExplorer(schema, guests, services{fake}, native.NewCaller(ExplorerName), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	t.Run("the methods of every service are listed, with a template of their request", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/methods")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{
			`{"service":"test.v1.Echo","method":"Say","guest":"echo","request":"test.v1.SayRequest","template":{"data":"","name":"","userName":""}}`,
			`"service":"test.v1.Hidden","method":"Say"`,
		} {
			if !strings.Contains(string(b), want) {
				t.Errorf("/methods lacks %s:\n%s", want, b)
			}
		}
		if strings.Contains(string(b), `"Stream"`) {
			t.Errorf("/methods lists a streaming method, which parigot cannot call:\n%s", b)
		}
	})

	for _, c := range []struct {
		name, method, body string
		status             int
		want               string
	}{
		{"a call gets the reply as JSON", "test.v1.Echo/Say", `{"name":"x"}`, http.StatusOK, `"greeting":"Hello, x!"`},
		{"an error reply gets its code and message", "test.v1.Echo/Fail", `{}`, http.StatusNotFound, `"code":"not_found","message":"no such thing"`},
		{"a body that is not JSON is refused, and the service never sees it", "test.v1.Echo/Say", `{"name":`, http.StatusBadRequest, `{"code":"invalid_argument","message":"the request body is not valid JSON"}`},
		{"a field the request lacks is named", "test.v1.Echo/Say", `{"nmae":"x"}`, http.StatusBadRequest, `unknown field \"nmae\"`},
		{"a value of the wrong type is refused", "test.v1.Echo/Say", `{"name":5}`, http.StatusBadRequest, `"message":"the body is not a test.v1.SayRequest: field \"name\" takes a string, not a number (5)"`},
		{"a method the app lacks is named", "test.v1.Echo/Nope", `{}`, http.StatusNotFound, `"message":"the app has no method test.v1.Echo/Nope`},
		{"a body over the gateway's limit is refused as the gateway refuses it", "test.v1.Echo/Say", `{"name":"` + strings.Repeat("x", MaxBody) + `"}`, http.StatusRequestEntityTooLarge, `"code":"resource_exhausted"`},
		// The fake answers every method but Echo's as unimplemented: the
		// call reached it.
		{"a service no gateway serves is called too", "test.v1.Hidden/Say", `{"name":"y"}`, http.StatusNotImplemented, `"message":"no method test.v1.Hidden/Say"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake.mu.Lock()
			before := fake.calls
			fake.mu.Unlock()
			resp, body := post(t, srv.URL+"/call/"+c.method, "application/json", c.body)
			if resp.StatusCode != c.status || !strings.Contains(body, c.want) {
				t.Fatalf("%s: %s; want %d and %s", resp.Status, body, c.status, c.want)
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			called := fake.calls > before
			if c.status != http.StatusBadRequest && called {
				if got := hex.EncodeToString(fake.trace.TraceID[:]); got != resp.Header.Get("Parigot-Trace") {
					t.Errorf("the call's trace is %s, the explorer says %s", got, resp.Header.Get("Parigot-Trace"))
				}
			}
			if c.status == http.StatusBadRequest && called {
				t.Errorf("the service got a call whose body is not its request")
			}
		})
	}
}

// TestTheExplorerRefusesOtherPages: any page the developer visits can send
// a POST to a local address; the explorer answers its own page only.
func TestTheExplorerRefusesOtherPages(t *testing.T) {
	schema, err := ParseSchema(testSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeService{tame: true}
	guests := []*host.GuestSpec{{Name: "echo", Kind: host.Service, Implements: []string{"test.v1.Echo"}}}
	h, err := newExplorer(schema, guests, services{fake}, native.NewCaller(ExplorerName), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, c := range []struct {
		name, contentType string
		header            []string
		want              string
	}{
		{"a form or text body, which a page of any origin may send without asking", "text/plain", nil, "takes a JSON body"},
		{"a page of another origin", "application/json", []string{"Origin", "https://evil.example"}, "from the dashboard's own page only"},
		{"a name made to resolve to this machine (DNS rebinding)", "application/json", []string{"Host", "evil.example:7070", "Origin", "http://evil.example:7070"}, "only at an IP address or localhost"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/call/test.v1.Echo/Say", strings.NewReader(`{"name":"x"}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", c.contentType)
			for i := 0; i+1 < len(c.header); i += 2 {
				if c.header[i] == "Host" {
					req.Host = c.header[i+1]
				}
				req.Header.Set(c.header[i], c.header[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), c.want) {
				t.Errorf("%s: %s; want 403 and %q", resp.Status, b, c.want)
			}
		})
	}
	fake.mu.Lock()
	calls := fake.calls
	fake.mu.Unlock()
	if calls != 0 {
		t.Errorf("the service got %d calls from other pages", calls)
	}
	t.Run("and the dashboard's own page is answered", func(t *testing.T) {
		resp, body := post(t, srv.URL+"/call/test.v1.Echo/Say", "application/json", `{"name":"x"}`, "Origin", srv.URL)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Hello, x!") {
			t.Errorf("%s: %s", resp.Status, body)
		}
	})
}
