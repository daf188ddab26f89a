package split

import (
	"bufio"
	"bytes"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// discard is a service that takes each call and never answers.
type discard struct{}

func (discard) Deliver(abi.Event, route.Endpoint) route.Refusal { return route.Accepted }
func (discard) GuestName() string                               { return "echo" }
func (discard) MethodTimeout() time.Duration                    { return time.Second }

// newTestDirectServer is a directServer with conns open connections (no
// sockets behind them) and echo served by discard; the first connection.
func newTestDirectServer(conns int) (*directServer, *serverConn) {
	s := &directServer{moved: make(chan struct{})}
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
	if err := w.call(1, int64(time.Second), time.Now().UnixNano(), "test.Echo/Echo", "", payload); err != nil {
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
		if n := testing.AllocsPerRun(1000, func() { c.call("echo", "ticker", body) }); n > 2 {
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
				c.call("echo", "ticker", body)
			}
		})
	}
}
