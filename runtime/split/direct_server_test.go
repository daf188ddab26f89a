package split

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/internal/route"
)

// dialAs opens a direct connection to replica's socket as who, welcomed:
// the caller's ends of it.
func dialAs(t *testing.T, replica *Network, who string) (net.Conn, *bufio.Reader, frameWriter) {
	t.Helper()
	s := replica.direct
	c, err := net.Dial("unix", s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r, w := bufio.NewReader(c), frameWriter{bufio.NewWriter(c)}
	if err := w.hello(directVersion, "echo", who, s.token("echo", who)); err != nil {
		t.Fatal(err)
	}
	if kind, _, err := readFrame(r); err != nil || kind != frameWelcome {
		t.Fatalf("the replica did not welcome %s: %v, frame %d", who, err, kind)
	}
	return c, r, w
}

// serverSide is the replica's end of its nth connection, once it has n.
func serverSide(t *testing.T, s *directServer, n int) *serverConn {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		if conns := *s.conns.Load(); len(conns) == n {
			return conns[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica never had %d connections", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestACallHeldForOrderIsCountedOnce: a call that waits in inOrder (it has
// another connection to wait for) counts as one frame dealt with, so each
// call wakes the other connections' waiting readers once, not twice.
func TestACallHeldForOrderIsCountedOnce(t *testing.T) {
	srv := startIdentityServer(t)
	replica := serveFake(t, srv, &fakeService{name: "echo#1"})
	_, r, w := dialAs(t, replica, "ticker")
	a := serverSide(t, replica.direct, 1)
	dialAs(t, replica, "tocker") // the other connection: a's calls are held
	serverSide(t, replica.direct, 2)
	const calls = 5
	for i := range uint64(calls) {
		if err := w.call(i, 0, time.Now().UnixNano(), "test.Echo/Echo", "", nil, []byte("x"), false); err != nil {
			t.Fatal(err)
		}
		if kind, _, err := readFrame(r); err != nil || kind != frameReply {
			t.Fatalf("call %d: %v, frame %d", i, err, kind)
		}
	}
	// Once its reader waits on the socket again, it has counted every
	// frame it was given.
	deadline := time.Now().Add(patience)
	for !a.idle.Load() || a.progress.Load() < calls {
		if time.Now().After(deadline) {
			t.Fatalf("the reader never went back to the socket: progress %d", a.progress.Load())
		}
		time.Sleep(time.Millisecond)
	}
	if n := a.progress.Load(); n != calls {
		t.Errorf("%d calls were counted as %d frames dealt with", calls, n)
	}
}

// discard is a service that takes each call and never answers.
type discard struct{}

func (discard) Deliver(abi.Event, route.Endpoint) route.Refusal { return route.Accepted }
func (discard) GuestName() string                               { return "echo" }
func (discard) MethodTimeout() time.Duration                    { return time.Second }

// newTestDirectServer is a directServer with conns open connections (no
// sockets behind them) and echo served by discard; the first connection.
func newTestDirectServer(conns int) (*directServer, *serverConn) {
	s := &directServer{moved: make(chan struct{}), wait: orderWait}
	s.routes.Store(&map[string]map[string]route.Endpoint{})
	s.conns.Store(&[]*serverConn{})
	s.serve("echo", []string{"test.Echo"}, discard{})
	for range conns {
		c := &serverConn{srv: s}
		c.idle.Store(true)
		s.addConn(c)
	}
	return s, (*s.conns.Load())[0]
}

// callFrame is the body of a call frame.
func callFrame(t testing.TB, payload []byte) []byte {
	var b bytes.Buffer
	w := frameWriter{bufio.NewWriter(&b)}
	if err := w.call(1, int64(time.Second), time.Now().UnixNano(), "test.Echo/Echo", "", nil, payload, false); err != nil {
		t.Fatal(err)
	}
	_, body, err := readFrame(bufio.NewReader(&b))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestACallReachesItsGuestWithTwoAllocations: the method's name and the
// call itself, whether or not other connections are open; the call path
// makes no list of them.
func TestACallReachesItsGuestWithTwoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	for _, conns := range []int{1, 2, 8} {
		_, c := newTestDirectServer(conns)
		body := callFrame(t, []byte("payload"))
		if n := testing.AllocsPerRun(1000, func() { c.call("echo", "ticker", body, false) }); n > 2 {
			t.Errorf("with %d connections open, a call allocates %v times, want 2", conns, n)
		}
	}
}

// BenchmarkDirectServerCall is the serving side's cost of one call, from
// its frame to its guest, with one connection and with another open.
func BenchmarkDirectServerCall(b *testing.B) {
	for _, conns := range []int{1, 2} {
		b.Run(map[int]string{1: "alone", 2: "another-connection-open"}[conns], func(b *testing.B) {
			_, c := newTestDirectServer(conns)
			body := callFrame(b, make([]byte, 100))
			b.ReportAllocs()
			for b.Loop() {
				c.call("echo", "ticker", body, false)
			}
		})
	}
}

// takenInOrder is a service that notes the payload of each call it takes.
type takenInOrder struct {
	mu  sync.Mutex
	got []string
}

func (r *takenInOrder) Deliver(ev abi.Event, _ route.Endpoint) route.Refusal {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, string(ev.Payload))
	return route.Accepted
}
func (r *takenInOrder) GuestName() string            { return "echo" }
func (r *takenInOrder) MethodTimeout() time.Duration { return time.Second }

func (r *takenInOrder) calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// callSentAt is the body of a call frame sent at sent.
func callSentAt(t *testing.T, payload string, sent time.Time) []byte {
	var b bytes.Buffer
	w := frameWriter{bufio.NewWriter(&b)}
	if err := w.call(1, 0, sent.UnixNano(), "test.Echo/Echo", "", nil, []byte(payload), false); err != nil {
		t.Fatal(err)
	}
	_, body, err := readFrame(bufio.NewReader(&b))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestCallsOnTwoConnectionsReachTheGuestInTheOrderTheyWereSent: a call
// read while another connection's reader has a frame in hand waits for
// it, and the call sent first goes first, as a relay of a call must not
// overtake the call made before it. The wait is not bounded here, so that
// a busy machine cannot end it.
func TestCallsOnTwoConnectionsReachTheGuestInTheOrderTheyWereSent(t *testing.T) {
	s, a := newTestDirectServer(2)
	b := (*s.conns.Load())[1]
	rec := &takenInOrder{}
	s.serve("echo", []string{"test.Echo"}, rec)
	s.wait = patience
	first := time.Now()
	b.idle.Store(false) // b's reader has the call sent first in hand
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.call("echo", "ticker", callSentAt(t, "second", first.Add(time.Millisecond)), false)
	}()
	for s.waiters.Load() == 0 {
		select {
		case <-done:
			t.Fatalf("the call sent second reached the guest without waiting for the first: %q", rec.calls())
		case <-time.After(time.Millisecond):
		}
	}
	b.call("echo", "tocker", callSentAt(t, "first", first), false)
	<-done
	if got := rec.calls(); !slices.Equal(got, []string{"first", "second"}) {
		t.Errorf("the guest took %q, want the first call, then the second", got)
	}
}

// TestACallDoesNotWaitForeverForAReaderThatNeverGoesOn: a reader with a
// frame cut short by its sender holds the others' calls for the bound
// only.
func TestACallDoesNotWaitForeverForAReaderThatNeverGoesOn(t *testing.T) {
	s, a := newTestDirectServer(2)
	(*s.conns.Load())[1].idle.Store(false) // and it stays so
	rec := &takenInOrder{}
	s.serve("echo", []string{"test.Echo"}, rec)
	s.wait = time.Millisecond
	a.call("echo", "ticker", callSentAt(t, "x", time.Now()), false)
	if got := rec.calls(); !slices.Equal(got, []string{"x"}) {
		t.Errorf("the guest took %q, want the call once its wait ran out", got)
	}
}

// keepsCaller is a service that keeps where each call's reply goes, as a
// guest does until it replies, and nothing of the call itself.
type keepsCaller struct{ from []route.Endpoint }

func (k *keepsCaller) Deliver(_ abi.Event, from route.Endpoint) route.Refusal {
	k.from = append(k.from, from)
	return route.Accepted
}
func (k *keepsCaller) GuestName() string            { return "echo" }
func (k *keepsCaller) MethodTimeout() time.Duration { return time.Second }

// TestAWaitingReplyDoesNotKeepItsCallsPayload: a call's payload can be
// collected while the guest has yet to reply, whether the call went to
// the guest at once or waited in inOrder.
func TestAWaitingReplyDoesNotKeepItsCallsPayload(t *testing.T) {
	for _, conns := range []int{1, 2} {
		s, c := newTestDirectServer(conns)
		k := &keepsCaller{}
		s.serve("echo", []string{"test.Echo"}, k)
		body := callFrame(t, make([]byte, 64<<10))
		collected := make(chan struct{})
		runtime.AddCleanup(&body[0], func(ch chan struct{}) { close(ch) }, collected)
		c.call("echo", "ticker", body, false)
		body = nil
		if !collectedSoon(collected) {
			t.Errorf("with %d connections open, the payload of a call whose reply is awaited was not collected", conns)
		}
		runtime.KeepAlive(k)
	}
}

// collectedSoon runs the collector until done is closed, a few times at most.
func collectedSoon(done chan struct{}) bool {
	for range 20 {
		runtime.GC()
		select {
		case <-done:
			return true
		case <-time.After(10 * time.Millisecond):
		}
	}
	return false
}

// A caller that sends calls and reads none of their replies (a stopped or
// hostile process) loses its connection once a reply waits too long to be
// written, and holds the service from its other callers no longer.
func TestACallerThatDoesNotReadHoldsTheServiceNoLonger(t *testing.T) {
	srv := startIdentityServer(t)
	f := &fakeService{name: "echo#1", got: make(chan abi.Event, 16)}
	replica := serveFake(t, srv, f)
	badConn, _, bad := dialAs(t, replica, "ticker")
	go func() {
		for i := range uint64(8) { // replies far larger than the socket's buffers
			if bad.call(i, 0, time.Now().UnixNano(), "test.Echo/Echo", "", nil, bytes.Repeat([]byte("x"), 1<<20), false) != nil {
				return
			}
		}
	}()
	// A call taken: its reply, larger than the socket holds, waits to be
	// written, and the service (which answers one call at a time) with it.
	select {
	case <-f.got:
	case <-time.After(time.Minute):
		t.Fatal("the replica took no call")
	}
	c, r, w := dialAs(t, replica, "tocker")
	c.SetDeadline(time.Now().Add(time.Minute)) // a hang fails, not a bound on the test's time
	if err := w.call(1, 0, time.Now().UnixNano(), "test.Echo/Echo", "", nil, []byte("hi"), false); err != nil {
		t.Fatal(err)
	}
	kind, body, err := readFrame(r)
	if err != nil || kind != frameReply {
		t.Fatalf("the other caller got no reply: %v, frame %d", err, kind)
	}
	fr := frameReader{b: body}
	if id, _, payload := fr.u64(), fr.u32(), fr.rest(); id != 1 || string(payload) != "echo#1:hi" {
		t.Errorf("the other caller got %d %q", id, payload)
	}
	// Closed by the replica: the rest of what it wrote, then the end (or a
	// reset, for the calls it had not read), not a wait for more.
	badConn.SetReadDeadline(time.Now().Add(time.Minute))
	var ne net.Error
	if _, err := io.Copy(io.Discard, badConn); errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("the caller that did not read still has its connection: %v", err)
	}
}

// flakyListener fails its first Accept as a process out of file
// descriptors does, then hands out conns until they are closed.
type flakyListener struct {
	conns  chan net.Conn
	failed bool
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if !l.failed {
		l.failed = true
		return nil, &net.OpError{Op: "accept", Net: "unix", Err: syscall.EMFILE}
	}
	if c, ok := <-l.conns; ok {
		return c, nil
	}
	return nil, net.ErrClosed
}
func (l *flakyListener) Close() error   { return nil }
func (l *flakyListener) Addr() net.Addr { return &net.UnixAddr{Name: "flaky", Net: "unix"} }

// An error accepting a connection (too many open files, a flood of
// connections that never say hello) does not end the accepting: the next
// connection is taken.
func TestAnAcceptErrorDoesNotEndTheAccepting(t *testing.T) {
	srv := startIdentityServer(t)
	replica := serveFake(t, srv, &fakeService{name: "echo#1"})
	l := &flakyListener{conns: make(chan net.Conn, 1)}
	ours, theirs := net.Pipe()
	defer theirs.Close()
	l.conns <- ours
	done := make(chan struct{})
	go func() { replica.direct.accept(l, false); close(done) }()
	waitFor(t, "the connection after the error to be taken", func() bool {
		replica.direct.mu.Lock()
		defer replica.direct.mu.Unlock()
		return len(replica.direct.unwelcomed) == 1 // it has yet to say hello
	})
	close(l.conns)
	<-done
}

// A call's deadline on this machine counts from when its caller sent it:
// one that sat in the socket past it (its replica stopped, then resumed)
// reaches the service already due, and is dropped unrun there.
func TestADirectCallsDeadlineCountsFromItsSending(t *testing.T) {
	srv := startIdentityServer(t)
	f := &fakeService{name: "echo#1", got: make(chan abi.Event, 1)}
	replica := serveFake(t, srv, f)
	_, _, w := dialAs(t, replica, "ticker")
	sent := time.Now().Add(-time.Second).UnixNano()
	const timeout = int64(500 * time.Millisecond)
	if err := w.call(1, timeout, sent, "test.Echo/Echo", "", nil, []byte("late"), false); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-f.got:
		if ev.Deadline != sent+timeout {
			t.Errorf("the call's deadline is %v after its sending, want %v", time.Duration(ev.Deadline-sent), time.Duration(timeout))
		}
	case <-time.After(time.Minute):
		t.Fatal("the replica took no call")
	}
}

// refusedLines is how many refused connections the lines a replica said
// count: one a line, or the number a line for several gives.
func refusedLines(said string) (refused, lines int) {
	for _, l := range strings.Split(strings.TrimSpace(said), "\n") {
		if !strings.Contains(l, "refused ") {
			continue
		}
		lines++
		if m := regexp.MustCompile(`refused (\d+) more direct connections`).FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			refused += n
		} else {
			refused++
		}
	}
	return refused, lines
}

// A peer that is no caller of the app (any process of the user at the
// socket; anyone on the network at the TCP listener) is refused at its
// first frame, and the replica's log says who it was and why, in a line a
// second at most however many come. A first frame longer than a hello is
// refused before anything is allocated for it: five bytes that said 4 MiB
// made the replica allocate 4 MiB and wait for them, so that a thousand
// such connections, from no caller, held 4 GB of its memory.
func TestAPeerThatIsNoCallerIsRefusedUnallocatedAndSaid(t *testing.T) {
	srv := startIdentityServer(t)
	var said lines.Buffer
	n := NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo")
	n.warn = &said
	replica := serveOn(t, n, &fakeService{name: "echo#1"})
	addr := replica.direct.ln.Addr().String()
	refusedAtOnce := func(what string, sent []byte) {
		t.Helper()
		c, err := net.Dial("unix", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(sent)
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(patience))
		// Closed with bytes unread, the connection may be reset.
		if _, err := io.ReadAll(c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("%s: %v, want the connection closed", what, err)
		}
		if waited := time.Since(start); waited >= offerTimeout {
			t.Errorf("%s: closed after %v, not at once", what, waited)
		}
	}
	var claim [5]byte
	binary.BigEndian.PutUint32(claim[:4], maxFrame) // the largest frame a caller may send
	claim[4] = byte(frameHello)
	const peers = 200
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range peers {
		refusedAtOnce("a hello said to be 4 MiB", append(claim[:], 'x'))
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
		t.Errorf("%d connections whose first frame said 4 MiB made the replica allocate %d MiB", peers, got>>20)
	}
	refusedAtOnce("an HTTP request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	waitFor(t, "every refusal to be said", func() bool { n, _ := refusedLines(said.String()); return n == peers+1 })
	got := said.String()
	if n, lines := refusedLines(got); lines > 10 {
		t.Errorf("%d refusals took %d lines, want a line a second at most", n, lines)
	}
	if want := fmt.Sprintf("parigot: echo: refused a direct connection from process %d (user %d) on this machine: its first bytes, %q, say a frame of %d bytes, and a hello is at most %d: it is no parigot caller (or one of another version)\n",
		os.Getpid(), os.Getuid(), claim[:], maxFrame, maxHello); !strings.HasPrefix(got, want) {
		t.Errorf("the replica said %q\nwant first %q", got, want)
	}
	// A caller that presents itself is still welcomed.
	dialAs(t, replica, "ticker")
}

// Connections that never say hello (silent, or a flood of them, up to the
// most that may wait at once and past it) take no place among the
// callers' connections: a caller connected before them is answered at
// once, on the path of a replica's only connection; those past the most
// are closed at once, and said; the others are closed after the hello's
// time, said too; then a new caller is welcomed.
func TestConnectionsThatNeverSayHelloHoldUpNoCaller(t *testing.T) {
	srv := startIdentityServer(t)
	var said lines.Buffer
	n := NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo")
	n.warn = &said
	replica := serveOn(t, n, &fakeService{name: "echo#1"})
	s := replica.direct
	s.mu.Lock()
	s.helloWait, s.maxUnwelcome = time.Second, 8
	s.mu.Unlock()
	_, r, w := dialAs(t, replica, "ticker")
	var silent []net.Conn
	for range 8 {
		c, err := net.Dial("unix", s.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		silent = append(silent, c)
	}
	waitFor(t, "the silent connections to be taken", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.unwelcomed) == 8
	})
	over, err := net.Dial("unix", s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	over.SetReadDeadline(time.Now().Add(patience))
	if _, err := io.ReadAll(over); err != nil {
		t.Errorf("the connection past the most: %v, want it closed at once", err)
	}
	if conns := *s.conns.Load(); len(conns) != 1 {
		t.Errorf("the replica counts %d callers' connections, want the one caller's", len(conns))
	}
	if err := w.call(1, 0, time.Now().UnixNano(), "test.Echo/Echo", "", nil, []byte("x"), false); err != nil {
		t.Fatal(err)
	}
	if kind, body, err := readFrame(r); err != nil || kind != frameReply || !strings.HasSuffix(string(body), "echo#1:x") {
		t.Errorf("the caller's call: %v, frame %d %q", err, kind, body)
	}
	for i, c := range silent {
		c.SetReadDeadline(time.Now().Add(patience))
		if _, err := io.ReadAll(c); err != nil {
			t.Errorf("silent connection %d: %v, want it closed after the hello's time", i, err)
		}
	}
	dialAs(t, replica, "tocker")
	waitFor(t, "every refusal to be said", func() bool { n, _ := refusedLines(said.String()); return n == 9 })
	for _, want := range []string{
		": 8 connections are waiting to say hello already, the most it takes at once: this one was closed unread (its callers' calls go through the NATS server meanwhile)",
		": it sent no hello within 1s",
	} {
		if !strings.Contains(said.String(), want) {
			t.Errorf("the replica said %q\nwant %q", said.String(), want)
		}
	}
}
