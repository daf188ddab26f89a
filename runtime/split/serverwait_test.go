package split

import (
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"parigot.dev/parigot/internal/syncbuf"
	"parigot.dev/parigot/runtime/host"
)

// unusedAddress is a loopback port nothing listens on, for a NATS server
// that is not up yet, and its nats:// URL.
func unusedAddress(t *testing.T) (url string, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return "nats://127.0.0.1:" + strconv.Itoa(port), port
}

// serverAt makes a real nats-server for port, with conf (a nats-server
// configuration) when not empty, and returns what starts it, from any
// goroutine, and reports whether it is ready for connections.
func serverAt(t *testing.T, port int, conf string) (start func() bool) {
	t.Helper()
	opts := &server.Options{NoLog: true, NoSigs: true}
	if conf != "" {
		opts = loadConfig(t, conf)
	}
	opts.Host, opts.Port = "127.0.0.1", port
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	return func() bool {
		go ns.Start()
		return ns.ReadyForConnections(patience)
	}
}

// startOnce starts what start starts once said is closed, unless ctx
// ends first.
func startOnce(ctx context.Context, said <-chan struct{}, start func() bool) {
	go func() {
		select {
		case <-said:
			start()
		case <-ctx.Done():
		}
	}()
}

// onceSaid returns a watcher of a run's stderr that keeps what it sees,
// and a channel closed once it has seen want.
func onceSaid(want string) (*syncbuf.Buffer, func(p []byte), <-chan struct{}) {
	var seen syncbuf.Buffer
	said := make(chan struct{})
	var once sync.Once
	return &seen, func(p []byte) {
		seen.Write(p)
		if strings.Contains(seen.String(), want) {
			once.Do(func() { close(said) })
		}
	}, said
}

// unbuiltGuests are a service and its program that are never started:
// their run ends before, waiting for the NATS server.
func unbuiltGuests() []*host.GuestSpec {
	return []*host.GuestSpec{
		{Name: "echo", Kind: host.Service, Implements: []string{"test.Echo"}, MethodTimeout: time.Second, Replicas: 1},
		{Name: "ticker", Kind: host.Program, Requires: []string{"echo"}, Replicas: 1},
	}
}

const waitingFor = "parigot: waiting for the NATS server at "

// A run given a NATS server that is not up yet (its machine started
// first) waits for it, says so once, with why, and once connected: then
// every child starts, and the run goes as any other. No child waits for
// the server itself, nor says so.
func TestARunWaitsForANATSServerThatStartsAfterIt(t *testing.T) {
	skipUnderRace(t)
	guests := testGuests(t, 1)
	url, port := unusedAddress(t)
	seen, watch, waiting := onceSaid(waitingFor)
	startOnce(t.Context(), waiting, serverAt(t, port, ""))
	var startedBeforeConnected []string
	started := func(label string, pid int) {
		if !strings.Contains(seen.String(), "parigot: connected to the NATS server") {
			startedBeforeConnected = append(startedBeforeConnected, label)
		}
	}
	res, out, errOut, err := superviseWatching(t.Context(), t, guests,
		Options{Conn: Conn{URL: url}, NATSWait: patience, Started: started}, nil, watch)
	if err != nil || res.ExitCode != 0 || !strings.Contains(out, "ticker | done: ok=40 failed=0\n") {
		t.Fatalf("err %v, exit %d\nstdout:\n%s\nstderr:\n%s", err, res.ExitCode, out, errOut)
	}
	wantWaiting := waitingFor + url + " (dial tcp 127.0.0.1:" + strconv.Itoa(port) + ": connect: connection refused): the run starts once it answers, for up to 2m0s (--nats-wait)\n"
	wantConnected := "parigot: connected to the NATS server at " + url + " after "
	if strings.Count(errOut, wantWaiting) != 1 || strings.Count(errOut, wantConnected) != 1 ||
		strings.Index(errOut, wantWaiting) > strings.Index(errOut, wantConnected) {
		t.Errorf("stderr:\n%s\nwant once %q, then once %q", errOut, wantWaiting, wantConnected)
	}
	if strings.Contains(errOut, "cannot be reached") {
		t.Errorf("a child waited for the server itself:\n%s", errOut)
	}
	if len(startedBeforeConnected) > 0 {
		t.Errorf("%v started before the server answered", startedBeforeConnected)
	}
}

// A server that does not answer within --nats-wait ends the run with an
// error that names it, says why the last try failed and what to do;
// nothing of the app started.
func TestAWaitForTheNATSServerEndsAtItsLimit(t *testing.T) {
	url, _ := unusedAddress(t)
	started := false
	_, _, errOut, err := superviseWith(t, unbuiltGuests(),
		Options{Conn: Conn{URL: url}, NATSWait: 300 * time.Millisecond, Started: func(string, int) { started = true }}, nil)
	var we *ServerWaitError
	if !errors.As(err, &we) || we.URL != url || we.Waited != 300*time.Millisecond {
		t.Fatalf("err = %v (%T), want a *ServerWaitError for %s after 300ms", err, err, url)
	}
	for _, want := range []string{"the NATS server at " + url + " did not answer within 300ms (--nats-wait)",
		"connection refused", checkServer, "or wait longer with --nats-wait"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to say %q", err, want)
		}
	}
	if strings.Count(errOut, waitingFor+url) != 1 || strings.Contains(errOut, "connected") {
		t.Errorf("stderr:\n%s\nwant the wait said once, and no connection", errOut)
	}
	if started {
		t.Error("a child started")
	}
}

// Credentials the server refuses do not pass by waiting: the run ends at
// once with the refusal, whether the server was up from the start or came
// up while the run waited for it, though the wait could have lasted
// minutes.
func TestRefusedCredentialsEndTheWaitForTheNATSServerAtOnce(t *testing.T) {
	const conf = `authorization { users = [ { user: shop, password: secret } ] }`
	for _, late := range []bool{false, true} {
		name := "a server up from the start"
		if late {
			name = "a server that comes up while the run waits"
		}
		t.Run(name+" that refuses the credentials ends the run with the refusal", func(t *testing.T) {
			url, port := unusedAddress(t)
			seen, watch, waiting := onceSaid(waitingFor)
			start := serverAt(t, port, conf)
			if late {
				startOnce(t.Context(), waiting, start)
			} else if !start() {
				t.Fatal("the NATS server did not start")
			}
			_, _, _, err := superviseWatching(t.Context(), t, unbuiltGuests(),
				Options{Conn: Conn{URL: url, User: "shop", Pass: "wrong"}, NATSWait: patience}, nil, watch)
			if err == nil || errors.As(err, new(*ServerWaitError)) ||
				!strings.HasPrefix(err.Error(), "service echo: connecting to NATS at "+url+": the server refused the credentials") {
				t.Fatalf("err = %v (%T), want the server's refusal of service echo's credentials", err, err)
			}
			if said := strings.Contains(seen.String(), waitingFor); said != late {
				t.Errorf("stderr:\n%s\nwant the wait said: %v", seen.String(), late)
			}
		})
	}
}

// Ctrl-C or SIGTERM while the run waits for its NATS server ends the run
// at once, as interrupted, with nothing of the app started.
func TestAnInterruptEndsTheWaitForTheNATSServer(t *testing.T) {
	url, _ := unusedAddress(t)
	ctx, interrupt := context.WithCancel(t.Context())
	_, watch, waiting := onceSaid(waitingFor)
	startOnce(ctx, waiting, func() bool { interrupt(); return true })
	started := false
	_, _, errOut, err := superviseWatching(ctx, t, unbuiltGuests(),
		Options{Conn: Conn{URL: url}, NATSWait: patience, Started: func(string, int) { started = true }}, nil, watch)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the interrupt\nstderr:\n%s", err, errOut)
	}
	if started {
		t.Error("a child started")
	}
}

// Credentials written into a --nats URL (a user and password, or a token)
// stay out of what the run says: its lines go to terminals and logs.
func TestTheWaitForTheNATSServerShowsNoCredentialsOfItsURL(t *testing.T) {
	url, _ := unusedAddress(t)
	addr := strings.TrimPrefix(url, "nats://")
	given := "nats://alice:s3cret@" + addr + ",nats://t0ken@" + addr
	_, _, errOut, err := superviseWith(t, unbuiltGuests(), Options{Conn: Conn{URL: given}, NATSWait: 300 * time.Millisecond}, nil)
	if err == nil {
		t.Fatal("the run went on without a server")
	}
	shown := "nats://xxxxx@" + addr + ",nats://xxxxx@" + addr
	for what, text := range map[string]string{"the error": err.Error(), "stderr": errOut} {
		if strings.Contains(text, "s3cret") || strings.Contains(text, "alice") || strings.Contains(text, "t0ken") {
			t.Errorf("%s shows the URL's credentials:\n%s", what, text)
		}
		if !strings.Contains(text, shown) {
			t.Errorf("%s does not name the server as %s:\n%s", what, shown, text)
		}
	}
}

// proxyOnce listens on a loopback port and passes its first connection
// on to target, then listens no more, as a NATS server that went away
// once it had answered; listenAgain listens at the same address again,
// passing every connection on, as the server back. It returns the proxy's
// nats:// URL.
func proxyOnce(t *testing.T, target string) (url string, listenAgain func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() {
		c, err := ln.Accept()
		ln.Close() // before the first connection is through: no second gets in
		if err == nil {
			passOn(c, target)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return "nats://" + addr, func() {
		again, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("listening at %s again: %v", addr, err)
			return
		}
		t.Cleanup(func() { again.Close() })
		go func() {
			for {
				c, err := again.Accept()
				if err != nil {
					return
				}
				passOn(c, target)
			}
		}()
	}
}

// passOn copies c to a new connection to target and back, until either
// side ends.
func passOn(c net.Conn, target string) {
	d, err := net.Dial("tcp", target)
	if err != nil {
		c.Close()
		return
	}
	both := func(dst, src net.Conn) {
		io.Copy(dst, src)
		dst.Close()
		src.Close()
	}
	go both(d, c)
	go both(c, d)
}

// serverGoneAfterTheRun is a NATS server, at url, that answers the first
// connection (the run's wait), then none until a process says that it
// waits for it (watch, the run's stderr, kept in seen): a server that
// went away once it answered the run, and came back.
func serverGoneAfterTheRun(t *testing.T) (url string, seen *syncbuf.Buffer, watch func(p []byte)) {
	t.Helper()
	_, port := unusedAddress(t)
	if !serverAt(t, port, "")() {
		t.Fatal("the NATS server did not start")
	}
	url, listenAgain := proxyOnce(t, "127.0.0.1:"+strconv.Itoa(port))
	seen, watch, waiting := onceSaid(waitingFor)
	startOnce(t.Context(), waiting, func() bool { listenAgain(); return true })
	return url, seen, watch
}

// waitedLines are the lines a process that waits for the NATS server at
// url, refused there, says, naming itself as who ("service echo"): that
// it waits, and once it connected.
func waitedLines(url, who string) (waiting string, connected *regexp.Regexp) {
	waiting = waitingFor + url + " (dial tcp " + strings.TrimPrefix(url, "nats://") + ": connect: connection refused): " + who + " starts once it answers, for up to 2m0s (--nats-wait)\n"
	connected = regexp.MustCompile(`(?m)^parigot: connected to the NATS server at ` + regexp.QuoteMeta(url) + ` after [0-9.]+m?s: ` + who + ` starts$`)
	return waiting, connected
}

// A NATS server that answered the run, and went away before a child's
// first connection, is waited for by that child within --nats-wait, as
// the run waited for it: each child says so once, naming itself, and
// once connected; the run then goes as any other.
func TestAChildWaitsForANATSServerThatWentAwayAfterTheRunConnected(t *testing.T) {
	skipUnderRace(t)
	guests := testGuests(t, 1)
	url, seen, watch := serverGoneAfterTheRun(t)
	res, out, errOut, err := superviseWatching(t.Context(), t, guests, Options{Conn: Conn{URL: url}, NATSWait: patience}, nil, watch)
	if err != nil || res.ExitCode != 0 || !strings.Contains(out, "ticker | done: ok=40 failed=0\n") {
		t.Fatalf("err %v, exit %d\nstdout:\n%s\nstderr:\n%s", err, res.ExitCode, out, errOut)
	}
	waited := 0
	for _, who := range []string{"service echo", "program ticker"} {
		wantWaiting, wantConnected := waitedLines(url, who)
		switch n := strings.Count(errOut, wantWaiting); {
		case n > 1 || len(wantConnected.FindAllString(errOut, -1)) != n:
			t.Errorf("stderr:\n%s\nwant at most once %q, then as often %q", errOut, wantWaiting, wantConnected)
		case n == 1 && strings.Index(errOut, wantWaiting) > wantConnected.FindStringIndex(errOut)[0]:
			t.Errorf("stderr:\n%s\nwant %q before %q", errOut, wantWaiting, wantConnected)
		}
		waited += strings.Count(errOut, wantWaiting)
	}
	if waited == 0 || strings.Contains(seen.String(), "parigot: waiting for the NATS server at "+url+" (dial tcp "+strings.TrimPrefix(url, "nats://")+": connect: connection refused): the run") {
		t.Errorf("stderr:\n%s\nwant a child's wait said, and not the run's", errOut)
	}
}

// A gateway the run serves, whose NATS server answered the run and went
// away before the gateway connected, waits for it within --nats-wait as a
// child at its first start does: said once, naming the gateway, and once
// connected.
func TestAGatewayWaitsForANATSServerThatWentAwayAfterTheRunConnected(t *testing.T) {
	url, seen, watch := serverGoneAfterTheRun(t)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	var connected error
	serve := func(ctx context.Context, connect Connector, _ func(string) bool) error {
		defer stop() // the run ends once the gateway connected, or could not
		nc, err := connect(ctx, GatewayIdentity("public"), "gateway public")
		if err == nil {
			nc.Close()
		}
		connected = err
		return nil
	}
	superviseWatching(ctx, t, unbuiltGuests(), Options{Conn: Conn{URL: url}, NATSWait: patience, Only: []string{"public"},
		Gateways: []Gateway{{Name: "public", Guests: []string{"echo"}}}, Serve: serve}, nil, watch)
	if connected != nil {
		t.Fatalf("the gateway did not connect: %v\nstderr:\n%s", connected, seen.String())
	}
	wantWaiting, wantConnected := waitedLines(url, "gateway public")
	if s := seen.String(); strings.Count(s, wantWaiting) != 1 || len(wantConnected.FindAllString(s, -1)) != 1 || strings.Index(s, wantWaiting) > wantConnected.FindStringIndex(s)[0] {
		t.Errorf("stderr:\n%s\nwant once %q, then once %q", s, wantWaiting, wantConnected)
	}
}

// A guest started by hand (parigot guest) waits for a NATS server that is
// not up yet, as a run does: it says so once, naming itself, starts once
// the server answers, and says after how long.
func TestAGuestStartedByHandWaitsForItsNATSServer(t *testing.T) {
	guests := testGuests(t, 1)
	url, port := unusedAddress(t)
	seen, watch, waiting := onceSaid(waitingFor)
	startOnce(t.Context(), waiting, serverAt(t, port, ""))
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	var out syncbuf.Buffer
	_, err := RunChild(ctx, ChildOptions{App: "test", Guests: guests, Name: "echo", Conn: Conn{URL: url}, NATSWait: patience,
		Stdout: &out, Stderr: watchWriter{&out, watch}, Ready: stop})
	if err != nil {
		t.Fatalf("RunChild: %v\n%s", err, out.String())
	}
	wantWaiting := waitingFor + url + " (dial tcp 127.0.0.1:" + strconv.Itoa(port) + ": connect: connection refused): service echo starts once it answers, for up to 2m0s (--nats-wait)\n"
	wantConnected := regexp.MustCompile(`(?m)^parigot: connected to the NATS server at ` + regexp.QuoteMeta(url) + ` after [0-9.]+m?s: service echo starts$`)
	if s := seen.String(); strings.Count(s, wantWaiting) != 1 || len(wantConnected.FindAllString(s, -1)) != 1 || strings.Index(s, wantWaiting) > wantConnected.FindStringIndex(s)[0] {
		t.Errorf("stderr:\n%s\nwant once %q, then once %q", s, wantWaiting, wantConnected)
	}
}

// A guest started by hand whose server does not answer within its
// --nats-wait ends with an error naming the server (without the
// credentials of its URL), why the last try failed, and what to do.
func TestAGuestStartedByHandGivesUpAtItsNATSWait(t *testing.T) {
	url, _ := unusedAddress(t)
	addr := strings.TrimPrefix(url, "nats://")
	var out syncbuf.Buffer
	_, err := RunChild(t.Context(), ChildOptions{App: "test", Guests: unbuiltGuests(), Name: "echo", Conn: Conn{URL: "nats://alice:s3cret@" + addr},
		NATSWait: 300 * time.Millisecond, Stdout: &out, Stderr: &out})
	var we *ServerWaitError
	if !errors.As(err, &we) || we.URL != "nats://xxxxx@"+addr || strings.Contains(err.Error(), "s3cret") ||
		!strings.Contains(err.Error(), "connection refused: "+checkServer+", or wait longer with --nats-wait") {
		t.Fatalf("err = %v (%T), want a *ServerWaitError for nats://xxxxx@%s saying what to do", err, err, addr)
	}
	if strings.Count(out.String(), waitingFor+"nats://xxxxx@"+addr) != 1 || strings.Contains(out.String(), "s3cret") {
		t.Errorf("stderr:\n%s\nwant the wait said once, without the URL's credentials", out.String())
	}
}
