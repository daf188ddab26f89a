package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"
)

// Held keeps the gateways' sockets open from one run of an app to the next
// (parigot dev restarts the app when parigot.hcl or the protos its
// gateways serve change). A client that connects while the app restarts
// is not refused: its connection waits, in the socket's queue, for the
// next run's gateway, which then serves it. A gateway also keeps its
// address, a free port (listen "127.0.0.1:0") too. The connections
// clients have open outlive the run as well (see front): a request sent
// on one meanwhile waits for the next run, up to RestartWait.
//
// A Held is safe for concurrent use.
type Held struct {
	mu     sync.Mutex
	relays map[string]*relay // by the address a gateway asked for
	wait   time.Duration     // how long a request waits for the next run: RestartWait unless set (tests)
}

// NewHeld returns a Held with no socket yet: each opens at the first run
// whose gateway asks for its address.
func NewHeld() *Held { return &Held{relays: map[string]*relay{}} }

// Keep closes the sockets of every address but addrs (those the next run's
// gateways listen at), so that a gateway gone from parigot.hcl, or moved
// to another address, refuses connections. Keep(nil) closes them all, as
// Close does: no run is coming that would serve them. The requests
// waiting on a socket closed are answered unavailable, saying why.
func (h *Held) Keep(addrs []string) { h.keep(addrs, false) }

// Close closes every socket held: the app is not running.
func (h *Held) Close() { h.keep(nil, true) }

// keep is Keep; stopped says the app is not running (Close), rather than
// running without the gateways of the sockets it closes.
func (h *Held) keep(addrs []string, stopped bool) {
	h.mu.Lock()
	var gone []*relay
	for addr, r := range h.relays {
		if !slices.Contains(addrs, addr) {
			gone = append(gone, r)
			delete(h.relays, addr)
		}
	}
	h.mu.Unlock()
	for _, r := range gone {
		why := fmt.Sprintf("the app no longer has a gateway listening at %s: parigot.hcl changed", r.addr)
		if stopped {
			why = "the app is not running: parigot dev's output says why"
		}
		r.close(why)
	}
}

// listen returns the socket at addr for gateway name: the one held, or a
// new one. Closing what it returns stops its Accept, and leaves the socket
// open and accepting for the next listen of addr.
func (h *Held) listen(name, addr string) (net.Listener, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, err := h.relay(name, addr)
	if err != nil {
		return nil, err
	}
	return &heldListener{r: r, closed: make(chan struct{})}, nil
}

// front returns what serves the socket at addr for gateway name across
// runs: the one held, or a new one. log is the first run's.
func (h *Held) front(name, addr string, log *slog.Logger) (*front, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, err := h.relay(name, addr)
	if err != nil {
		return nil, err
	}
	if r.front == nil {
		wait := h.wait
		if wait == 0 {
			wait = RestartWait
		}
		r.front = newFront(name, &heldListener{r: r, closed: make(chan struct{})}, log, defaultLimits, wait)
	}
	return r.front, nil
}

// relay returns the relay of addr, opening its socket if need be. h.mu is
// held.
func (h *Held) relay(name, addr string) (*relay, error) {
	r := h.relays[addr]
	if r == nil {
		ln, err := listenTCP(name, addr)
		if err != nil {
			return nil, err
		}
		r = &relay{addr: addr, ln: ln, conns: make(chan net.Conn), stop: make(chan struct{}), ended: make(chan struct{})}
		go r.accept()
		h.relays[addr] = r
	}
	return r, nil
}

// relay accepts the connections of one held socket, one at a time, and
// hands each to whichever accepts next; between runs the connection it
// holds waits for it, and the others in the kernel's queue. Once a
// gateway serves on the socket, its front accepts them all, as they come,
// from one run to the next.
type relay struct {
	addr  string // as the gateway asked for it
	ln    net.Listener
	front *front        // what serves its HTTP and gRPC, once a gateway has; owned by Held.mu
	conns chan net.Conn // unbuffered: a connection is handed over, or kept
	stop  chan struct{} // closed by close
	ended chan struct{} // closed once accept has returned, err then set
	err   error
	once  sync.Once
}

// accept runs until the socket is closed. Errors that pass (out of file
// descriptors, a connection reset before it was accepted) are waited out,
// as net/http's server does.
func (r *relay) accept() {
	defer close(r.ended)
	var wait time.Duration
	for {
		c, err := r.ln.Accept()
		if err != nil {
			select {
			case <-r.stop:
				r.err = net.ErrClosed
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				r.err = err
				return
			}
			wait = min(max(2*wait, 5*time.Millisecond), time.Second)
			time.Sleep(wait)
			continue
		}
		wait = 0
		select {
		case r.conns <- c:
		case <-r.stop:
			c.Close()
			r.err = net.ErrClosed
			return
		}
	}
}

// close closes the socket; its front, if any, answers the requests
// waiting for a run unavailable, saying why.
func (r *relay) close(why string) {
	r.once.Do(func() {
		close(r.stop)
		r.ln.Close()
		if r.front != nil {
			r.front.close(why)
		}
	})
}

// heldListener is one run's view of a held socket.
type heldListener struct {
	r      *relay
	closed chan struct{}
	once   sync.Once
}

func (l *heldListener) Accept() (net.Conn, error) {
	select {
	case <-l.closed:
		return nil, net.ErrClosed
	default:
	}
	select {
	case c := <-l.r.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-l.r.ended:
		return nil, l.r.err
	}
}

// Close ends this run's Accept; the socket stays open.
func (l *heldListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *heldListener) Addr() net.Addr { return l.r.ln.Addr() }
