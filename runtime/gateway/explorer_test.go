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
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/native"
	"parigot.dev/parigot/runtime/state"
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

// startExplorer serves the explorer of an app whose guest echo implements
// Echo, with the subscriptions subs.
func startExplorer(t *testing.T, subs ...state.Subscription) (*httptest.Server, *fakeService) {
	t.Helper()
	schema, err := ParseSchema(testSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeService{}
	guests := []*host.GuestSpec{{Name: "echo", Kind: host.Service, Implements: []string{"test.v1.Echo"}, Subscriptions: subs}}
	h, err := newExplorer(schema, guests, services{fake}, native.NewCaller(ExplorerName), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, fake
}

// explorerCall calls method through the explorer, with the headers
// given as name, value pairs, and returns the status and the body.
func explorerCall(t *testing.T, srv *httptest.Server, method, body string, header ...string) (int, string) {
	t.Helper()
	resp, b := post(t, srv.URL+"/call/"+method, "application/json", body, header...)
	return resp.StatusCode, b
}

// TestTheExplorerPassesOnTheHeadersItsUserGives: a method that checks a
// bearer token can be tried from the explorer. The headers given as
// Parigot-Header-<name> reach the method as a gateway passes on those its
// block lists, and no other header of the page's request does; a name no
// gateway block may list, and headers over a gateway's limit, are refused
// as the gateway refuses them, before the method is called.
func TestTheExplorerPassesOnTheHeadersItsUserGives(t *testing.T) {
	srv, fake := startExplorer(t)
	calls := func() int {
		fake.mu.Lock()
		defer fake.mu.Unlock()
		return fake.calls
	}
	for _, c := range []struct {
		name   string
		header []string
		want   string // what the method gets, as "name: value" lines
	}{
		{"the headers given reach the method, and not the page's own", []string{
			"Parigot-Header-Authorization", "Bearer abc", "Parigot-Header-X-Request-Id", "r-1", "Cookie", "session=s", "Authorization", "Bearer page"},
			"authorization: Bearer abc\nx-request-id: r-1"},
		{"a header given twice passes on both values, in order", []string{"Parigot-Header-X-Request-Id", "a", "Parigot-Header-X-Request-Id", "b"},
			"x-request-id: a\nx-request-id: b"},
		{"a call without headers carries none", []string{"Authorization", "Bearer page"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if status, body := explorerCall(t, srv, "test.v1.Echo/Say", `{"name":"x"}`, c.header...); status != http.StatusOK {
				t.Fatalf("%d: %s", status, body)
			}
			if got := lastHeader(fake); got != c.want {
				t.Errorf("the method got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
	for _, c := range []struct {
		name   string
		header []string
		want   string
	}{
		{"a header the gateway handles itself", []string{"Parigot-Header-Traceparent", "00-0102"},
			`"message":"request header traceparent (Parigot-Header-Traceparent) is tracing's: the gateway already makes the call part of the client's trace (see OBSERVABILITY.md), so no gateway passes it on to a method, and neither does the explorer"`},
		{"a hop-by-hop header", []string{"Parigot-Header-Connection", "close"}, `request header connection (Parigot-Header-Connection) is a hop-by-hop header`},
		{"headers over the gateway's limit", []string{"Parigot-Header-Authorization", strings.Repeat("x", abi.MaxHeader)},
			`"message":"the request headers the gateway passes on to the method (authorization) are larger than its limit of 8192 bytes; send smaller ones"`},
	} {
		t.Run("refused: "+c.name, func(t *testing.T) {
			before := calls()
			status, body := explorerCall(t, srv, "test.v1.Echo/Say", `{"name":"x"}`, c.header...)
			if status != http.StatusBadRequest || !strings.Contains(body, `"code":"invalid_argument"`) || !strings.Contains(body, c.want) {
				t.Errorf("%d: %s; want 400, invalid_argument and %s", status, body, c.want)
			}
			if calls() != before {
				t.Errorf("the method was called")
			}
		})
	}
}

// TestTheExplorerSimulatesATopicsDelivery: a method a subscribe block
// delivers to, which a gateway refuses to its clients, is listed with its
// topic and called, as a delivery of it would be: without request
// headers, which a delivery never carries.
func TestTheExplorerSimulatesATopicsDelivery(t *testing.T) {
	srv, fake := startExplorer(t, state.Subscription{Topic: "greetings", Method: "test.v1.Echo/Say"})
	resp, err := http.Get(srv.URL + "/methods")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `"method":"Say","guest":"echo","request":"test.v1.SayRequest","template":{"data":"","name":"","userName":""},"topics":["greetings"]}`; !strings.Contains(string(b), want) {
		t.Errorf("/methods lacks %s:\n%s", want, b)
	}
	if strings.Contains(string(b), `"method":"Fail","guest":"echo","request":"test.v1.SayRequest","template":{"data":"","name":"","userName":""},"topics"`) {
		t.Errorf("/methods gives topics to a method no subscription delivers to:\n%s", b)
	}
	t.Run("a call reaches the method, as a delivery would", func(t *testing.T) {
		if status, body := explorerCall(t, srv, "test.v1.Echo/Say", `{"name":"x"}`); status != http.StatusOK || !strings.Contains(body, "Hello, x!") {
			t.Errorf("%d: %s; want the greeting", status, body)
		}
	})
	t.Run("headers are refused: a delivery carries none", func(t *testing.T) {
		fake.mu.Lock()
		before := fake.calls
		fake.mu.Unlock()
		status, body := explorerCall(t, srv, "test.v1.Echo/Say", `{"name":"x"}`, "Parigot-Header-Authorization", "Bearer abc")
		if want := `"message":"test.v1.Echo/Say receives the messages of topic \"greetings\", and a call from the explorer simulates a delivery, which carries no request headers: call it without the headers given (authorization)"`; status != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("%d: %s; want 400 and %s", status, body, want)
		}
		fake.mu.Lock()
		defer fake.mu.Unlock()
		if fake.calls != before {
			t.Errorf("the method was called")
		}
	})
}
