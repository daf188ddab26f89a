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
			`{"service":"test.v1.Echo","method":"Say","guest":"echo","request":"test.v1.SayRequest","template":{"data":"","name":""}}`,
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
		{"a value of the wrong type is refused", "test.v1.Echo/Say", `{"name":5}`, http.StatusBadRequest, `"message":"the body is not a test.v1.SayRequest`},
		{"a method the app lacks is named", "test.v1.Echo/Nope", `{}`, http.StatusNotFound, `"message":"the app has no method test.v1.Echo/Nope`},
		// The fake answers every method but Echo's as unimplemented: the
		// call reached it.
		{"a service no gateway serves is called too", "test.v1.Hidden/Say", `{"name":"y"}`, http.StatusNotImplemented, `"message":"no method test.v1.Hidden/Say"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake.mu.Lock()
			before := fake.calls
			fake.mu.Unlock()
			resp, body := post(t, srv.URL+"/call/"+c.method, "text/plain", c.body) // the page's content type does not matter
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
