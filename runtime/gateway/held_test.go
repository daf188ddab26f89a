package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"parigot.dev/parigot/runtime/internal/native"
)

// A client that connects between two runs is not refused: its connection
// waits for the next run's gateway, at the same address, even one that
// asked for a free port. An address no run keeps refuses connections.
func TestHeldSocketsOutliveARun(t *testing.T) {
	held := NewHeld()
	defer held.Close()
	first, err := held.listen("public", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := first.Addr().String()
	served := make(chan string, 1)
	go func() {
		c, err := first.Accept()
		if err != nil {
			served <- err.Error()
			return
		}
		defer c.Close()
		b := make([]byte, 5)
		io.ReadFull(c, b)
		served <- string(b)
	}()
	sendRaw(t, addr, "first")
	if got := <-served; got != "first" {
		t.Fatalf("the first run accepted %q", got)
	}

	// The first run stops.
	first.Close()
	if _, err := first.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	// A client connects meanwhile, and sends its request.
	between, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("connecting between two runs: %v, want the connection to wait", err)
	}
	defer between.Close()
	if _, err := between.Write([]byte("again")); err != nil {
		t.Fatal(err)
	}

	// The next run listens at the same address (127.0.0.1:0 again) and
	// serves it.
	held.Keep([]string{"127.0.0.1:0"})
	second, err := held.listen("public", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if got := second.Addr().String(); got != addr {
		t.Errorf("the next run listens at %s, want %s, the address the first had", got, addr)
	}
	c, err := second.Accept()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "again" {
		t.Errorf("the connection made between the runs read %q, %v", b, err)
	}
	c.Close()

	// A run that no longer listens there: the socket closes, and a client
	// is refused at once.
	held.Keep(nil)
	if _, err := second.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept once the socket is no longer kept: %v, want net.ErrClosed", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("connecting to an address no run keeps: connected, want refused")
	} else if !strings.Contains(err.Error(), "refused") {
		t.Errorf("connecting to an address no run keeps: %v, want refused", err)
	}
}

// An address another program holds is said as a gateway's own listen says
// it.
func TestHeldSocketInUseIsSaid(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	held := NewHeld()
	defer held.Close()
	_, err = held.listen("public", busy.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "is in use by another program") {
		t.Errorf("listening at a busy address: %v", err)
	}
}

func sendRaw(t *testing.T, addr, text string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(text)); err != nil {
		t.Fatal(err)
	}
}

// heldRuns starts runs of the test gateway on a socket held across them,
// as parigot dev restarts an app.
type heldRuns struct {
	t      *testing.T
	held   *Held
	schema *Schema
	spec   Spec
	log    *slog.Logger
}

func newHeldRuns(t *testing.T) *heldRuns {
	schema, err := ParseSchema(testSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	held := NewHeld()
	t.Cleanup(held.Close)
	return &heldRuns{t: t, held: held, schema: schema, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		spec: Spec{Name: "test", Listen: "127.0.0.1:0", Services: []string{"test.v1.Echo"}}}
}

// start starts a run whose service is fake.
func (r *heldRuns) start(fake *fakeService) *Server {
	r.t.Helper()
	srv, err := start(r.spec, r.schema, services{fake}, native.NewCaller(NativeIdentity), r.log, r.held)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(srv.Stop)
	return srv
}

// waitForWaiting returns once n requests wait for a run.
func (r *heldRuns) waitForWaiting(n int) {
	r.t.Helper()
	f, err := r.held.front(r.spec.Name, r.spec.Listen, r.log)
	if err != nil {
		r.t.Fatal(err)
	}
	for f.waitingRequests() != n {
		time.Sleep(time.Millisecond)
	}
}

// answer is what a client saw of a request.
type answer struct {
	status int
	body   string
	reused bool // on a connection the client had before
	err    error
}

// sayOn calls Echo/Say with Connect's JSON through client.
func sayOn(client *http.Client, url, name string) answer {
	var a answer
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { a.reused = info.Reused }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodPost,
		url+"/test.v1.Echo/Say", strings.NewReader(`{"name":"`+name+`"}`))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	a.status, a.body, a.err = resp.StatusCode, string(b), err
	var reply struct{ Greeting string }
	if a.status == 200 && json.Unmarshal(b, &reply) == nil {
		a.body = reply.Greeting // the JSON's spacing varies
	}
	return a
}

func (f *fakeService) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// A client's kept-alive connection (HTTP/1.1, or h2c) outlives a restart:
// a POST sent on it while the app restarts waits and is served by the next
// run, as is one sent just after, without an error.
func TestAKeptAliveConnectionIsServedAcrossRestarts(t *testing.T) {
	clients := map[string]func() *http.Client{
		"HTTP/1.1": func() *http.Client { return &http.Client{Transport: &http.Transport{}} },
		"h2c":      h2cClient,
	}
	for name, newClient := range clients {
		t.Run(name, func(t *testing.T) {
			runs := newHeldRuns(t)
			srv := runs.start(&fakeService{})
			url := srv.URL()
			client := newClient()
			defer client.CloseIdleConnections()
			if a := sayOn(client, url, "first"); a.err != nil || a.status != 200 {
				t.Fatalf("before any restart: %d %q %v", a.status, a.body, a.err)
			}
			for i := range 10 {
				// The run stops; a request comes meanwhile, on the
				// connection the client has.
				srv.Stop()
				during := make(chan answer, 1)
				go func() { during <- sayOn(client, url, "during") }()
				runs.waitForWaiting(1)
				next := &fakeService{}
				srv = runs.start(next)
				a := <-during
				if a.err != nil || a.status != 200 || a.body != "Hello, during!" || !a.reused {
					t.Fatalf("restart %d: the request sent during the restart got %d %q, error %v (on the connection it had: %v), want 200 and its greeting", i, a.status, a.body, a.err, a.reused)
				}
				// Restarted again, and asked at once.
				srv.Stop()
				srv = runs.start(next)
				a = sayOn(client, url, "after")
				if a.err != nil || a.status != 200 || a.body != "Hello, after!" || !a.reused {
					t.Fatalf("restart %d: the request sent just after the restart got %d %q, error %v (on the connection it had: %v), want 200 and its greeting", i, a.status, a.body, a.err, a.reused)
				}
				if n := next.callCount(); n != 2 {
					t.Fatalf("restart %d: the next run's service answered %d calls, want 2", i, n)
				}
			}
		})
	}
}

// A request that no run serves is told so: the app is restarting, when
// the next run does not come within the wait; it is not running, when the
// socket is no longer kept. The connection then serves the next run's
// requests.
func TestARequestNoRunServesIsToldWhy(t *testing.T) {
	runs := newHeldRuns(t)
	runs.held.wait = time.Nanosecond // no wait: no run comes here
	srv := runs.start(&fakeService{})
	url := srv.URL()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	conn := grpcClient(t, srv)
	if a := sayOn(client, url, "first"); a.err != nil || a.status != 200 {
		t.Fatalf("before the restart: %d %q %v", a.status, a.body, a.err)
	}
	if _, err := say(context.Background(), conn, "Say", "first"); err != nil {
		t.Fatalf("gRPC before the restart: %v", err)
	}
	srv.Stop()

	const restarting = "gateway test: the app is restarting (parigot dev) and did not serve this request within 1ns; send it again once parigot dev says the gateway serves"
	a := sayOn(client, url, "during")
	if a.err != nil || a.status != 503 || a.body != `{"code":"unavailable","message":"`+restarting+`"}`+"\n" {
		t.Errorf("a request no run serves: %d %q %v", a.status, a.body, a.err)
	}
	rest, err := client.Get(url + "/v1/greet/during")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rest.Body)
	rest.Body.Close()
	if rest.StatusCode != 503 || !strings.Contains(string(body), `"code":14,"message":"`+restarting+`"`) {
		t.Errorf("a REST request no run serves: %d %s", rest.StatusCode, body)
	}
	_, err = say(context.Background(), conn, "Say", "during")
	if s, _ := status.FromError(err); s.Code() != codes.Unavailable || s.Message() != restarting {
		t.Errorf("a gRPC call no run serves: %v", err)
	}

	runs.start(&fakeService{})
	if a := sayOn(client, url, "after"); a.err != nil || a.status != 200 || !a.reused {
		t.Errorf("once the next run serves: %d %q %v (on the connection it had: %v)", a.status, a.body, a.err, a.reused)
	}
	if got, err := say(context.Background(), conn, "Say", "after"); err != nil || got != "Hello, after!" {
		t.Errorf("gRPC once the next run serves: %q %v", got, err)
	}

	// The app stops for good, or its next run has no gateway there, while
	// a request waits: it is told so at once.
	for _, c := range []struct {
		end  func(*Held)
		what string
		want string
	}{
		{(*Held).Close, "when the app stops", "gateway test: the app is not running: parigot dev's output says why"},
		{func(h *Held) { h.Keep([]string{"127.0.0.1:1"}) }, "when the next run's gateway moves", "gateway test: the app no longer has a gateway listening at 127.0.0.1:0: parigot.hcl changed"},
	} {
		runs := newHeldRuns(t)
		srv := runs.start(&fakeService{})
		url := srv.URL()
		if a := sayOn(client, url, "first"); a.err != nil || a.status != 200 {
			t.Fatalf("before the app stops: %d %q %v", a.status, a.body, a.err)
		}
		srv.Stop()
		during := make(chan answer, 1)
		go func() { during <- sayOn(client, url, "during") }()
		runs.waitForWaiting(1)
		c.end(runs.held)
		a := <-during
		if a.err != nil || a.status != 503 || a.body != `{"code":"unavailable","message":"`+c.want+`"}`+"\n" {
			t.Errorf("a request waiting %s: %d %q %v", c.what, a.status, a.body, a.err)
		}
	}
}

// grpc-go's client goes on calling across restarts, without an error: the
// stopping run tells it to connect again (GOAWAY), and its new connection
// waits for the next run.
func TestAGRPCClientIsServedAcrossRestarts(t *testing.T) {
	runs := newHeldRuns(t)
	srv := runs.start(&fakeService{})
	conn := grpcClient(t, srv)
	if _, err := say(context.Background(), conn, "Say", "first"); err != nil {
		t.Fatalf("before any restart: %v", err)
	}
	for i := range 10 {
		srv.Stop()
		during := make(chan error, 1)
		go func() {
			got, err := say(context.Background(), conn, "Say", "during")
			if err == nil && got != "Hello, during!" {
				err = fmt.Errorf("answered %q", got)
			}
			during <- err
		}()
		next := &fakeService{}
		srv = runs.start(next)
		if err := <-during; err != nil {
			t.Fatalf("restart %d: the call made during the restart: %v, want its reply", i, err)
		}
		srv.Stop()
		srv = runs.start(next)
		if got, err := say(context.Background(), conn, "Say", "after"); err != nil || got != "Hello, after!" {
			t.Fatalf("restart %d: the call made just after the restart: %q, %v, want its reply", i, got, err)
		}
		if n := next.callCount(); n != 2 {
			t.Fatalf("restart %d: the next run's service answered %d calls, want 2", i, n)
		}
	}
}
