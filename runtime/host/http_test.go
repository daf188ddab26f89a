package host

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parigot.dev/parigot/internal/otlptest"
	"parigot.dev/parigot/runtime/egress"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
	"parigot.dev/parigot/runtime/observe"
)

// apiServer is the external API of the http tests, on loopback: its
// endpoints live under /v1, and outside counts the requests that reached
// anything else (none may).
type apiServer struct {
	*httptest.Server
	outside    atomic.Int32
	traceparts atomic.Value // the traceparent header of the last request, when one came
	// held is closed once a request to /v1/hold arrived, which the
	// server holds until its client goes away; released once the
	// request's context ended. /v1/finish answers once finish is closed.
	held, released, finish chan struct{}
}

func newAPIServer(t *testing.T) *apiServer {
	s := &apiServer{held: make(chan struct{}), released: make(chan struct{}), finish: make(chan struct{})}
	var holdOnce sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/charges", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", fmt.Sprintf("%s limit=%s", r.Header.Get("Authorization"), r.URL.Query().Get("limit")))
		fmt.Fprintf(w, "charged %s", strings.TrimPrefix(string(b), "amount="))
	})
	mux.HandleFunc("GET /v1/missing", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such thing", http.StatusNotFound)
	})
	mux.HandleFunc("GET /v1/big", func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for n := 0; n <= abi.MaxHTTPBody; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("GET /v1/redirect-out", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", s.URL+"/other")
		w.WriteHeader(http.StatusFound)
		fmt.Fprint(w, "moved out")
	})
	mux.HandleFunc("GET /v1/redirect-in", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/v1/landed", http.StatusFound)
	})
	mux.HandleFunc("GET /v1/landed", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "landed") })
	mux.HandleFunc("GET /v1/fast", func(w http.ResponseWriter, r *http.Request) {
		s.traceparts.Store(r.Header.Get(abi.TraceparentHeader))
		fmt.Fprint(w, "quick")
	})
	mux.HandleFunc("GET /v1/slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // slower than any budget: the caller gives up first
	})
	mux.HandleFunc("GET /v1/hold", func(w http.ResponseWriter, r *http.Request) {
		first := false
		holdOnce.Do(func() { first = true; close(s.held) })
		<-r.Context().Done()
		if first {
			close(s.released)
		}
	})
	mux.HandleFunc("GET /v1/holding", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-s.held:
			fmt.Fprint(w, "held")
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("GET /v1/finish", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-s.finish:
			fmt.Fprint(w, "done")
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.outside.Add(1)
		fmt.Fprint(w, "outside")
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// closedAddr is a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// webGuests are the web service and program, with the http endpoints api
// (srv), down (nothing there) and secret (which neither uses).
func webGuests(t *testing.T, srv *apiServer) (svc, prog *GuestSpec) {
	endpoints := []egress.Spec{{Name: "api", URL: srv.URL + "/v1"}, {Name: "down", URL: "http://" + closedAddr(t) + "/v1"}, {Name: "secret", URL: srv.URL + "/admin"}}
	w := wasm(t, "web")
	svc = &GuestSpec{Name: "web", Kind: Service, Wasm: w, Implements: []string{"test.Web"}, MethodTimeout: time.Second, Overrun: OverrunReport,
		Env: []string{"WEB=service"}, Uses: []string{"http.api"}, HTTP: endpoints}
	prog = &GuestSpec{Name: "prog", Kind: Program, Wasm: w, Requires: []string{"web"},
		Env: []string{"API_KEY=k1"}, Uses: []string{"http.api", "http.down"}, HTTP: endpoints}
	return svc, prog
}

func TestAGuestCallsAnExternalAPIUnderItsEndpointOnly(t *testing.T) {
	srv := newAPIServer(t)
	svc, prog := webGuests(t, srv)
	res, out := runApp(t, svc, prog)
	if res.ExitCode != 0 {
		t.Errorf("exit code %d; output:\n%s", res.ExitCode, out)
	}
	assertLines(t, out, []string{
		"prog | open secret: http.secret: permission denied: this guest may not use http secret: add http.secret to its uses in parigot.hcl",
		`prog | open nothere: http.nothere: not found: parigot.hcl declares no http "nothere"`,
		"prog | charge: 200 charged 5 (seen Bearer k1 limit=10)",
		"prog | missing: 404 no such thing",
		`prog | escape: invalid argument: the path "../admin" has a .. segment: a path goes under the endpoint's URL, and may not climb out of it`,
		`prog | absolute: invalid argument: the path "https://evil.example/x" is an absolute URL: a path goes under the endpoint's URL, and may not leave it`,
		"prog | big: resource exhausted: http api: the response of " + srv.URL + "/v1/big has a body of more than the limit of 4128768 bytes (4 MiB less 64 KiB); ask for less (a page, a range)",
		"prog | upload: resource exhausted: a request body of 4128769 bytes is over the limit of 4128768 bytes (4 MiB less 64 KiB)",
		"prog | redirect out: 302 moved out",
		"prog | redirect in: 200 landed",
		"prog | fast: 200 quick while slow waits: true",
	})
	// Whichever gives up first says so: the program waiting for web, or
	// web waiting for the API (with the deadline web's call gave it).
	slow := regexp.MustCompile(`(?m)^prog \| slow: deadline exceeded: (no reply from service web within its method budget of 1s|no reply from http api before the deadline of the method of service web that sent it \(its budget of 1s, or its own caller's deadline when sooner\), which came before the timeout of 30s; give web a method_timeout in parigot.hcl that covers the wait)$`)
	if !slow.MatchString(out) {
		t.Errorf("the request to a server slower than the budget did not end at the deadline:\n%s", out)
	}
	if n := srv.outside.Load(); n != 0 {
		t.Errorf("%d requests reached the server outside the endpoint's URL", n)
	}
}

// With tracing on, a request is a client span, a child of the call that
// sent it, with OpenTelemetry's HTTP attributes, and its traceparent
// header names that span, so that the external API joins the trace.
func TestARequestIsAClientSpanAndCarriesItsTraceparent(t *testing.T) {
	srv := newAPIServer(t)
	svc, prog := webGuests(t, srv)
	rcv := otlptest.Start(t)
	tracing := observe.NewTracing(observe.TracingOptions{App: "test", OTLP: []string{rcv.URL()}})
	var out bytes.Buffer
	res, err := Run(t.Context(), Config{Guests: []*GuestSpec{svc, prog}, Stdout: &out, Stderr: &out, Tracing: tracing})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run: %v, exit %d\n%s", err, res.ExitCode, out.String())
	}
	if err := tracing.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	spans := rcv.WaitFor(t, patience, func([]otlptest.Span) bool { return true })
	byID := map[string]otlptest.Span{}
	for _, s := range spans {
		byID[s.SpanID] = s
	}
	tp, _ := srv.traceparts.Load().(string)
	sent, ok := abi.ParseTraceparent(tp)
	if !ok {
		t.Fatalf("the request to /v1/fast carried no valid traceparent: %q", tp)
	}
	span, ok := byID[hex.EncodeToString(sent.SpanID[:])]
	if !ok {
		t.Fatalf("no span has the id the traceparent %s names; spans: %+v", tp, spans)
	}
	want := map[string]string{"http.request.method": "GET", "url.full": srv.URL + "/v1/fast", "http.response.status_code": "200",
		"server.address": "127.0.0.1", "parigot.guest": "web"}
	for k, v := range want {
		if span.Attrs[k] != v {
			t.Errorf("span attribute %s = %q, want %q", k, span.Attrs[k], v)
		}
	}
	if span.Name != "GET" || span.Kind != "SPAN_KIND_CLIENT" || span.Error || span.TraceID != hex.EncodeToString(sent.TraceID[:]) {
		t.Errorf("span %+v: want GET, a client's, no error, in the traceparent's trace", span)
	}
	if parent := byID[span.ParentID]; parent.Name != "test.Web/Fetch" {
		t.Errorf("the request's span is a child of %q, want the call test.Web/Fetch that sent it", parent.Name)
	}
	var missing []otlptest.Span
	for _, s := range spans {
		if s.Kind == "SPAN_KIND_CLIENT" && s.Attrs["url.full"] == srv.URL+"/v1/missing" {
			missing = append(missing, s)
		}
	}
	if len(missing) != 1 || !missing[0].Error || missing[0].Attrs["error.type"] != "404" {
		t.Errorf("spans of the 404: %+v; want one, an error of type 404", missing)
	}
}

// A request in flight when the guest that sent it ends is given up at
// once: the server sees its request's context end, though the request's
// deadline is an hour away, while the run goes on (another program waits
// for the test). The guest exits, panics, or (a service, sending from a
// method) panics in another call.
func TestARequestWhoseGuestEndedIsGivenUp(t *testing.T) {
	for _, end := range []string{"hold-exit", "hold-trap", "hold-service"} {
		t.Run(end, func(t *testing.T) {
			srv := newAPIServer(t)
			endpoints := []egress.Spec{{Name: "api", URL: srv.URL + "/v1", Timeout: time.Hour}}
			w := wasm(t, "web")
			uses := []string{"http.api"}
			guests := []*GuestSpec{
				{Name: "web", Kind: Service, Wasm: w, Implements: []string{"test.Web"}, MethodTimeout: time.Hour, Env: []string{"WEB=service"}, Uses: uses, HTTP: endpoints},
				{Name: "holder", Kind: Program, Wasm: w, Requires: []string{"web"}, Env: []string{"WEB=" + end}, Uses: uses, HTTP: endpoints},
				{Name: "waiter", Kind: Program, Wasm: w, Env: []string{"WEB=finish"}, Uses: uses, HTTP: endpoints},
			}
			var out bytes.Buffer
			type result struct {
				res Result
				err error
			}
			done := make(chan result, 1)
			go func() {
				res, err := Run(t.Context(), Config{Guests: guests, Stdout: &out, Stderr: &out})
				done <- result{res, err}
			}()
			select {
			case <-srv.released:
			case <-time.After(patience):
				t.Errorf("%s ended, and its request was still in flight after %s", end, patience)
			case r := <-done:
				t.Fatalf("the run ended before the request was given up: %v\n%s", r.err, out.String())
			}
			close(srv.finish)
			r := <-done
			if r.err != nil {
				t.Fatalf("Run: %v\n%s", r.err, out.String())
			}
			assertLines(t, out.String(), []string{"waiter | finish: 200 done"})
		})
	}
}

// A request ends at its endpoint's timeout when that comes before the
// deadline of the method that sent it, and outside any method: the
// block's timeout (300ms) stands, not the default of 30s nor the
// service's budget of minutes. (TestAGuestCallsAnExternalAPIUnderItsEndpointOnly
// has the method's deadline come first.)
func TestARequestEndsAtItsEndpointsTimeout(t *testing.T) {
	srv := newAPIServer(t)
	endpoints := []egress.Spec{{Name: "api", URL: srv.URL + "/v1", Timeout: 300 * time.Millisecond}}
	w := wasm(t, "web")
	uses := []string{"http.api"}
	svc := &GuestSpec{Name: "web", Kind: Service, Wasm: w, Implements: []string{"test.Web"}, MethodTimeout: patience, Env: []string{"WEB=service"}, Uses: uses, HTTP: endpoints}
	prog := &GuestSpec{Name: "prog", Kind: Program, Wasm: w, Requires: []string{"web"}, Env: []string{"WEB=deadlines"}, Uses: uses, HTTP: endpoints}
	res, out := runApp(t, svc, prog)
	if res.ExitCode != 0 {
		t.Errorf("exit code %d; output:\n%s", res.ExitCode, out)
	}
	// One message, the host's, however the deadline's timers fall: the
	// endpoint leaves the answer to it.
	for _, from := range []string{"direct", "method"} {
		want := "prog | " + from + " slow: deadline exceeded: no reply from http api within its timeout of 300ms"
		if !slices.Contains(strings.Split(out, "\n"), want) {
			t.Errorf("the request sent %s did not end at its endpoint's timeout:\n%s", map[string]string{"direct": "outside any method", "method": "from a method"}[from], out)
		}
	}
}

// Each request a guest sent is counted by guest, endpoint and outcome
// (the response's status class, or the code the guest got), and timed,
// in the run's metrics; one refused before it was sent (a path that
// would leave the endpoint's URL, a body over the limit) is not.
func TestRequestsAreCountedAndTimedInTheMetrics(t *testing.T) {
	srv := newAPIServer(t)
	svc, prog := webGuests(t, srv)
	metrics := observe.NewMetrics()
	var out bytes.Buffer
	res, err := Run(t.Context(), Config{Guests: []*GuestSpec{svc, prog}, Stdout: &out, Stderr: &out, Metrics: metrics})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run: %v, exit %d\n%s", err, res.ExitCode, out.String())
	}
	rec := httptest.NewRecorder()
	metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	text := rec.Body.String()
	for _, want := range []string{
		// charge, redirect in; missing; redirect out; big
		`parigot_http_requests_total{endpoint="api",guest="prog",outcome="2xx"} 2`,
		`parigot_http_requests_total{endpoint="api",guest="prog",outcome="4xx"} 1`,
		`parigot_http_requests_total{endpoint="api",guest="prog",outcome="3xx"} 1`,
		`parigot_http_requests_total{endpoint="api",guest="prog",outcome="resource exhausted"} 1`,
		`parigot_http_requests_total{endpoint="down",guest="prog",outcome="unavailable"} 1`,
		// the service's: fast; slow, past its method's deadline
		`parigot_http_requests_total{endpoint="api",guest="web",outcome="2xx"} 1`,
		`parigot_http_requests_total{endpoint="api",guest="web",outcome="deadline exceeded"} 1`,
		`parigot_http_request_duration_seconds_count{endpoint="api",guest="prog"} 5`,
		`parigot_http_request_duration_seconds_count{endpoint="down",guest="prog"} 1`,
		`parigot_http_request_duration_seconds_count{endpoint="api",guest="web"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the metrics lack %s:\n%s", want, grepLines(text, "parigot_http_request"))
		}
	}
	if strings.Contains(text, `outcome="invalid argument"`) {
		t.Errorf("a request refused before it was sent was counted:\n%s", grepLines(text, "parigot_http_requests_total"))
	}
}

// The run's endpoints are one list, which every guest's spec gives alike;
// specs that contradict each other are an error, not a run that takes
// whichever came first.
func TestTheRunsEndpointsAreOneListTheGuestsAgreeOn(t *testing.T) {
	api := egress.Spec{Name: "api", URL: "https://api.example.com/v1"}
	mail := egress.Spec{Name: "mail", URL: "https://mail.example.com", Timeout: time.Second}
	a := &GuestSpec{Name: "a", HTTP: []egress.Spec{api, mail}}
	b := &GuestSpec{Name: "b", HTTP: []egress.Spec{api, mail}}
	none := &GuestSpec{Name: "none"}
	got, err := runEndpoints([]*GuestSpec{none, a, b})
	if err != nil || len(got) != 2 || got[0] != api || got[1] != mail {
		t.Errorf("runEndpoints = %+v, %v; want api and mail once", got, err)
	}
	for _, other := range []egress.Spec{{Name: "mail", URL: "https://other.example.com", Timeout: time.Second}, {Name: "mail", URL: mail.URL}} {
		c := &GuestSpec{Name: "c", HTTP: []egress.Spec{other}}
		if _, err := runEndpoints([]*GuestSpec{a, c}); err == nil || !strings.Contains(err.Error(), "the specs of a and c list http mail otherwise") {
			t.Errorf("specs listing mail as %+v and %+v: %v; want an error naming both guests", mail, other, err)
		}
	}
}

// resourceStub is a store, topic or http endpoint as deadlineText sees it.
type resourceStub struct {
	name    string
	timeout time.Duration
}

func (r resourceStub) Deliver(abi.Event, route.Endpoint) route.Refusal { return route.Accepted }
func (r resourceStub) GuestName() string                               { return r.name }
func (r resourceStub) MethodTimeout() time.Duration                    { return r.timeout }
func (r resourceStub) Resource()                                       {}

// A request cut short by the deadline of the method that sent it names
// that method's service and budget, and what to raise: the default budget
// of 50ms is shorter than most APIs take, and the request's own timeout
// is not what ended it.
func TestARequestEndedByItsMethodsDeadlineNamesTheBudgetToRaise(t *testing.T) {
	caller := &instance{spec: &GuestSpec{Name: "fx", MethodTimeout: 50 * time.Millisecond}}
	api := resourceStub{name: "http rates", timeout: 2 * time.Second}
	for _, tc := range []struct {
		inherited bool
		want      string
	}{
		{true, "no reply from http rates before the deadline of the method of service fx that sent it (its budget of 50ms, or its own caller's deadline when sooner), which came before the timeout of 2s; give fx a method_timeout in parigot.hcl that covers the wait"},
		{false, "no reply from http rates within its timeout of 2s"},
	} {
		if got := deadlineText(outgoing{callee: api, inherited: tc.inherited}, caller); got != tc.want {
			t.Errorf("inherited %v:\n got %q\nwant %q", tc.inherited, got, tc.want)
		}
	}
}
