package egress

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"parigot.dev/parigot/internal/testcert"
	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

func TestARequestGoesUnderItsEndpointsURL(t *testing.T) {
	for _, tc := range []struct{ base, path, query, want string }{
		{"https://api.example.com/v1", "charges", "", "https://api.example.com/v1/charges"},
		{"https://api.example.com/v1/", "/charges/", "", "https://api.example.com/v1/charges/"},
		{"https://api.example.com", "charges", "", "https://api.example.com/charges"},
		{"https://api.example.com/v1", "", "", "https://api.example.com/v1"},
		{"https://api.example.com/v1", "files/a%2Fb", "", "https://api.example.com/v1/files/a%2Fb"},
		{"http://127.0.0.1:8080/v1", "search", "q=a b&limit=10", "http://127.0.0.1:8080/v1/search?limit=10&q=a+b"},
	} {
		e, err := New([]Spec{{Name: "api", URL: tc.base}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		ep := e.byName["api"]
		var q []byte
		if tc.query != "" {
			values, _ := url.ParseQuery(tc.query)
			for k, vs := range values {
				for _, v := range vs {
					q = abi.AppendQuery(q, k, v)
				}
			}
		}
		if got := ep.target(abi.HTTPRequest{Path: tc.path, Query: q}).String(); got != tc.want {
			t.Errorf("%s + %q = %s, want %s", tc.base, tc.path, got, tc.want)
		}
		e.Close()
	}
}

func TestARedirectIsFollowedOnlyUnderTheEndpointsURL(t *testing.T) {
	e, err := New([]Spec{{Name: "api", URL: "https://api.example.com/v1"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ep := e.byName["api"]
	for _, tc := range []struct {
		to    string
		under bool
	}{
		{"https://api.example.com/v1", true},
		{"https://api.example.com/v1/charges/2", true},
		{"https://API.example.com/v1/x", true},
		{"https://api.example.com/v10/x", false},
		{"https://api.example.com/admin", false},
		{"http://api.example.com/v1/x", false},
		{"https://api.example.com:8443/v1/x", false},
		{"https://evil.example/v1/x", false},
	} {
		u, _ := url.Parse(tc.to)
		if got := ep.under(u); got != tc.under {
			t.Errorf("under(%s) = %v, want %v", tc.to, got, tc.under)
		}
	}
}

// A followed redirect does not tell where it came from: the URL
// redirected from has the request's query, which may hold an API key. A
// Referer the guest set is its own, and stays.
func TestAFollowedRedirectCarriesNoReferer(t *testing.T) {
	var referer atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/from" {
			http.Redirect(w, r, "/v1/to", http.StatusFound)
			return
		}
		referer.Store(r.Header.Get("Referer"))
	}))
	defer srv.Close()
	e, err := New([]Spec{{Name: "api", URL: srv.URL + "/v1"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, guests := range []string{"", "https://app.example.com/"} {
		var header []byte
		if guests != "" {
			header = abi.AppendHeader(nil, "referer", guests)
		}
		query := abi.AppendQuery(nil, "api_key", "s3cret")
		if code, _, msg := send(t, e, abi.HTTPRequest{Method: "GET", Path: "from", Query: query, Header: header}); code != abi.CodeOK {
			t.Fatalf("%s %q", code, msg)
		}
		if got := referer.Load(); got != guests {
			t.Errorf("the guest set Referer %q; the redirect carried %q", guests, got)
		}
	}
}

func TestAnEndpointWithoutAValidURLIsRefused(t *testing.T) {
	if _, err := New([]Spec{{Name: "api", URL: "ftp://x"}}, Options{}); err == nil {
		t.Error("New took an ftp URL")
	}
}

// guest is a route.Endpoint standing for the guest that sends requests:
// it hands the replies it gets to replies.
type guest struct{ replies chan abi.Event }

func newGuest() *guest { return &guest{replies: make(chan abi.Event, 8)} }

func (g *guest) Deliver(ev abi.Event, _ route.Endpoint) route.Refusal {
	g.replies <- ev
	return route.Accepted
}
func (g *guest) GuestName() string            { return "prog" }
func (g *guest) MethodTimeout() time.Duration { return time.Second }

// holdingServer holds each request until its client goes away, and says
// when one arrived and when its context ended.
func holdingServer(t *testing.T) (srv *httptest.Server, arrived, released chan struct{}) {
	arrived, released = make(chan struct{}, 8), make(chan struct{}, 8)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
		released <- struct{}{}
	}))
	t.Cleanup(srv.Close)
	return srv, arrived, released
}

func request(t *testing.T, method string) []byte {
	t.Helper()
	r := abi.HTTPRequest{Method: method, Path: "held"}
	return r.Encode(nil)
}

// A request its guest gives up (the guest ended) ends at once: the server
// sees its request's context end, though the request has no deadline at
// all, and the reply says why. One whose deadline the host saw pass ends
// too, with no reply: the host has answered it.
func TestARequestItsGuestGaveUpEndsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		expired bool
		code    abi.Code
		says    string
	}{
		{"the guest ended", false, abi.CodeCanceled, "was given up: the guest that sent it ended"},
		{"its deadline passed", true, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, arrived, released := holdingServer(t)
			e, err := New([]Spec{{Name: "api", URL: srv.URL}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			ep := e.Endpoint("api").(route.Canceller)
			g := newGuest()
			ep.Deliver(abi.Event{Kind: abi.KindCall, CallID: 7, Method: abi.OpRequest, Payload: request(t, "GET")}, g)
			<-arrived
			ep.Cancel(8, g, false)          // another request of the guest's: not this one
			ep.Cancel(7, newGuest(), false) // the same id from another guest: not this one
			select {
			case <-released:
				t.Fatal("the server's request ended when another request was given up")
			case <-time.After(50 * time.Millisecond):
			}
			ep.Cancel(7, g, tc.expired)
			<-released // the test's timeout is the bound: a request never given up has no end
			if tc.expired {
				e.Close() // waits for the request's goroutine
				if len(g.replies) != 0 {
					t.Errorf("a reply came after the host's deadline: %s", (<-g.replies).Code)
				}
				return
			}
			reply := <-g.replies
			code, msg, _, _ := abi.DecodeError(reply.Payload)
			if reply.CallID != 7 || reply.Code != tc.code || code != tc.code || !strings.Contains(msg, tc.says) {
				t.Errorf("reply %d %s %q; want call 7, %s, saying %q", reply.CallID, reply.Code, msg, tc.code, tc.says)
			}
			ep.Cancel(7, g, false) // a request that ended already: nothing happens
		})
	}
}

// A request that reaches its deadline (its call's, which the host keeps
// and answers itself, naming what to raise) gets no reply from the
// endpoint, whose message would race the host's: its guest sees one
// message, whatever the timing.
func TestARequestPastItsDeadlineLeavesTheAnswerToTheHost(t *testing.T) {
	srv, arrived, released := holdingServer(t)
	e, err := New([]Spec{{Name: "api", URL: srv.URL}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := newGuest()
	deadline := time.Now().Add(50 * time.Millisecond).UnixNano()
	e.Endpoint("api").Deliver(abi.Event{Kind: abi.KindCall, CallID: 3, Deadline: deadline, Method: abi.OpRequest, Payload: request(t, "GET")}, g)
	<-arrived
	<-released // the server saw the request end, at its deadline
	e.Close()  // waits for the request's goroutine
	if len(g.replies) != 0 {
		reply := <-g.replies
		_, msg, _, _ := abi.DecodeError(reply.Payload)
		t.Errorf("the endpoint replied %s %q; want no reply: the host answers a deadline", reply.Code, msg)
	}
}

// A response whose header is over abi.MaxHTTPResponseHeader fails with
// resource exhausted, saying so and the limit, over HTTP/1.1 and HTTP/2;
// one under it is the response it is.
func TestAResponseHeaderOverTheLimitSaysSo(t *testing.T) {
	var seen atomic.Value // the protocol of the last request
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Proto)
		n := 20 // KiB, in headers of 1 KiB
		switch r.URL.Path {
		case "/v1/huge":
			n = abi.MaxHTTPResponseHeader>>10 + 4 // over HTTP/2's count too, which adds a little per header
		case "/v1/field":
			w.Header().Set("X-Big", strings.Repeat("x", abi.MaxHTTPResponseHeader+4<<10))
			n = 0
		}
		for i := range n {
			w.Header().Set(fmt.Sprintf("X-Big-%d", i), strings.Repeat("x", 1<<10))
		}
		fmt.Fprint(w, "ok")
	})
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		t.Run(proto, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(handler)
			if proto == "HTTP/2.0" {
				srv.EnableHTTP2 = true
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			e, err := New([]Spec{{Name: "api", URL: srv.URL + "/v1"}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			ep := e.byName["api"]
			if proto == "HTTP/2.0" { // trust the test's certificate
				ep.client.Transport.(*http.Transport).TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
			}
			if code, _, msg := send(t, e, abi.HTTPRequest{Method: "GET", Path: "big"}); code != abi.CodeOK {
				t.Fatalf("a header of 20 KiB: %s %s", code, msg)
			}
			if got := seen.Load(); got != proto {
				t.Fatalf("the request went over %v, not %s", got, proto)
			}
			for _, path := range []string{"huge", "field"} {
				code, _, msg := send(t, e, abi.HTTPRequest{Method: "GET", Path: path})
				want := regexp.MustCompile(`^http api: the response of ` + regexp.QuoteMeta(srv.URL) + `/v1/` + path + ` has a header (field )?over the limit of 32768 bytes \(32 KiB\)`)
				if code != abi.CodeResourceExhausted || !want.MatchString(msg) {
					t.Errorf("%s, a header over the limit: %s %q; want resource exhausted, matching %s", path, code, msg, want)
				}
			}
		})
	}
}

// send delivers one request to the endpoint api of e and returns its
// reply's code, and its response or its error's message.
func send(t *testing.T, e *Endpoints, r abi.HTTPRequest) (abi.Code, abi.HTTPResponse, string) {
	t.Helper()
	return sendTo(t, e, "api", r)
}

// sendTo is send to the endpoint name.
func sendTo(t *testing.T, e *Endpoints, name string, r abi.HTTPRequest) (abi.Code, abi.HTTPResponse, string) {
	t.Helper()
	g := newGuest()
	e.Endpoint(name).Deliver(abi.Event{Kind: abi.KindCall, CallID: 1, Method: abi.OpRequest, Payload: r.Encode(nil)}, g)
	reply := <-g.replies
	if reply.Code != abi.CodeOK {
		_, msg, _, _ := abi.DecodeError(reply.Payload)
		return reply.Code, abi.HTTPResponse{}, msg
	}
	resp, err := abi.DecodeHTTPResponse(reply.Payload)
	if err != nil {
		t.Fatalf("the response does not decode: %v", err)
	}
	return reply.Code, resp, ""
}

// The Content-Length of a response to HEAD is the size of what GET would
// return, and no body comes: a large one is the response it is, not one
// over the body's limit. A GET of the same size is over it.
func TestAHeadOfALargeResourceIsItsResponse(t *testing.T) {
	const size = abi.MaxHTTPBody + 1<<20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(size))
		if r.Method != "HEAD" {
			w.Write(make([]byte, size))
		}
	}))
	defer srv.Close()
	e, err := New([]Spec{{Name: "api", URL: srv.URL}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	code, resp, msg := send(t, e, abi.HTTPRequest{Method: "HEAD", Path: "big"})
	if code != abi.CodeOK || resp.Status != 200 || len(resp.Body) != 0 {
		t.Errorf("HEAD: %s %q, status %d, %d bytes of body; want the response: 200, no body", code, msg, resp.Status, len(resp.Body))
	}
	if code, _, msg := send(t, e, abi.HTTPRequest{Method: "GET", Path: "big"}); code != abi.CodeResourceExhausted || !strings.Contains(msg, "has a body of") {
		t.Errorf("GET: %s %q; want resource exhausted, the body over its limit", code, msg)
	}
}

// A server whose certificate this machine does not trust (a self-signed
// one) is unavailable, and the message says why and what to do, not to
// check that the server is up.
func TestAServerWithAnUntrustedCertificateSaysWhatToDo(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	e, err := New([]Spec{{Name: "api", URL: srv.URL + "/v1"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	code, _, msg := send(t, e, abi.HTTPRequest{Method: "GET", Path: "x"})
	want := regexp.MustCompile(`^http api: https://127\.0\.0\.1:\d+/v1/x cannot be reached: its certificate is signed by an authority this machine does not trust \(x509: .*\); name a PEM file of its CA \(a private one, a test server's own certificate\) in the endpoint's ca_file in parigot.hcl, or in the variable its ca_file_env names, or use http:// for a server on loopback$`)
	if code != abi.CodeUnavailable || !want.MatchString(msg) {
		t.Errorf("%s %q; want unavailable, matching %s", code, msg, want)
	}
}

// An endpoint whose CA file holds the certificate of a test's TLS server
// reaches it; another endpoint of the same run, without one, does not:
// the file is trusted for its endpoint alone.
func TestAnEndpointsCAFileIsTrustedForItAlone(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "trusted") }))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "test-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := New([]Spec{{Name: "api", URL: srv.URL + "/v1", TLS: manifest.TLSFiles{CAFile: caFile}}, {Name: "other", URL: srv.URL + "/v1"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if code, resp, msg := send(t, e, abi.HTTPRequest{Method: "GET", Path: "x"}); code != abi.CodeOK || string(resp.Body) != "trusted" {
		t.Errorf("with the CA file: %s %q %q; want the response", code, resp.Body, msg)
	}
	if code, _, msg := sendTo(t, e, "other", abi.HTTPRequest{Method: "GET", Path: "x"}); code != abi.CodeUnavailable || !strings.Contains(msg, "signed by an authority this machine does not trust") {
		t.Errorf("another endpoint, without it: %s %q; want unavailable, an untrusted certificate", code, msg)
	}
}

// An endpoint with a client certificate presents it to a server that
// asks for one (mutual TLS), and the server sees who it is; one without
// it is refused by that server.
func TestAnEndpointPresentsItsClientCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, clientCert := testcert.Client(t, dir, "checkout")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello ", r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	clients := x509.NewCertPool()
	clients.AddCert(clientCert)
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clients}
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(dir, "server-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := New([]Spec{
		{Name: "api", URL: srv.URL, TLS: manifest.TLSFiles{CAFile: caFile, ClientCert: certFile, ClientKey: keyFile}},
		{Name: "anonymous", URL: srv.URL, TLS: manifest.TLSFiles{CAFile: caFile}},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if code, resp, msg := send(t, e, abi.HTTPRequest{Method: "GET", Path: "x"}); code != abi.CodeOK || string(resp.Body) != "hello checkout" {
		t.Errorf("with the client certificate: %s %q %q; want hello checkout", code, resp.Body, msg)
	}
	want := regexp.MustCompile(`^http anonymous: https://127\.0\.0\.1:\d+/x cannot be reached: its server refused the TLS handshake \(tls: certificate required\); a server that asks for a client certificate \(mutual TLS\) needs the one it expects, with its key, in the endpoint's client_cert and client_key \(or their _env\) in parigot.hcl$`)
	if code, _, msg := sendTo(t, e, "anonymous", abi.HTTPRequest{Method: "GET", Path: "x"}); code != abi.CodeUnavailable || !want.MatchString(msg) {
		t.Errorf("without it: %s %q; want unavailable, matching %s", code, msg, want)
	}
}

// A CA file that cannot be read is refused when the endpoints are made,
// saying which endpoint and why (the manifest reports it earlier still).
func TestAnEndpointWithoutAUsableCAFileIsRefused(t *testing.T) {
	_, err := New([]Spec{{Name: "api", URL: "https://api.example.com", TLS: manifest.TLSFiles{CAFile: filepath.Join(t.TempDir(), "missing.pem")}}}, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "http api: ca_file: ") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("New: %v; want http api: ca_file: ... does not exist", err)
	}
}
