package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/soheilhy/cmux"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// RestartWait bounds how long a request waits, on a socket Held keeps,
// for the next run of the app to serve it: past it, the client is told
// that the app is restarting (503, gRPC's unavailable).
const RestartWait = 30 * time.Second

// front serves a held socket from one run of the app to the next: it
// accepts the connections, splits them between net/http and grpc-go as
// serveOn does, and keeps the client's side of them open across restarts.
//
// net/http's server is the front's own: a connection it serves, HTTP/1.1
// kept alive or h2c, outlives the run that answered its first request,
// and its next request goes to the handler of whichever run serves then
// (attach). A request that arrives between two runs waits for the next
// one, up to wait; one that arrives once the socket is no longer kept is
// told the app is not running. Closing such a connection at a restart
// instead would fail the request a client sends on it at that moment:
// net/http's client retries only idempotent ones.
//
// grpc-go's server is each run's, for it is built from the run's schema:
// its connections end with the run (GracefulStop's GOAWAY, which grpc-go's
// clients follow by connecting again, transparently), and a gRPC
// connection that arrives between two runs waits for the next run's
// server, up to wait too.
type front struct {
	name  string
	ln    net.Listener // the relay's view of the socket, accepted from by mux alone
	sniff *sniffer
	mux   cmux.CMux
	http  *http.Server
	grpcL net.Listener           // mux's, for the gRPC connections
	grpc  chan net.Conn          // unbuffered: a gRPC connection to the current run's server
	wait  time.Duration          // RestartWait; shorter in tests
	limit time.Duration          // a request's time to arrive, given again after a wait
	log   *slog.Logger           // the first run's
	loops sync.WaitGroup         // the serving loops
	broke chan struct{}          // closed when a loop ended by itself, err then set
	err   error                  // why, once broke is closed
	once  sync.Once              // closes broke
	stop  atomic.Bool            // set by close: the loops' end is no failure
	gone  chan struct{}          // closed by close
	until atomic.Pointer[string] // why the app is not running, set by close

	mu      sync.Mutex
	cur     *frontRun     // the run serving, nil between runs
	changed chan struct{} // closed, and replaced, when cur changes or the front closes
	closed  bool
	waiting int // requests waiting for a run (tests watch it)
}

// frontRun is one run's part of a front: its handler, and its requests in
// flight.
type frontRun struct {
	h        http.Handler
	ctx      context.Context // ended when the run stops, StopTimeout after its requests were told to finish
	cancel   context.CancelFunc
	inflight sync.WaitGroup
}

// newFront serves ln, the relay's view of a held socket, for gateway name.
func newFront(name string, ln net.Listener, log *slog.Logger, limits clientLimits, wait time.Duration) *front {
	f := &front{name: name, ln: ln, sniff: newSniffer(), grpc: make(chan net.Conn), wait: wait, limit: limits.read, log: log,
		broke: make(chan struct{}), gone: make(chan struct{}), changed: make(chan struct{})}
	f.http = newHTTPServer(http.HandlerFunc(f.serveHTTP), log, limits)
	f.mux = cmux.New(rootListener{ln, f.sniff, name, log})
	f.mux.SetReadTimeout(limits.readHeader)
	f.grpcL = serverListener{f.mux.MatchWithWriters(f.sniff.isGRPC), f.sniff, false}
	httpL := serverListener{f.mux.MatchWithWriters(f.sniff.sentSomething), f.sniff, true}
	f.serve(func() error { return f.http.Serve(httpL) })
	f.serve(f.mux.Serve)
	f.serve(f.acceptGRPC)
	return f
}

// serve runs a serving loop of the front.
func (f *front) serve(loop func() error) {
	f.loops.Go(func() {
		err := loop()
		if !f.stop.Load() {
			f.once.Do(func() { f.err = err; close(f.broke) })
		}
	})
}

// acceptGRPC hands each gRPC connection to the run serving, or to the next
// run.
func (f *front) acceptGRPC() error {
	for {
		c, err := f.grpcL.Accept()
		if err != nil {
			return err
		}
		go f.handGRPC(c)
	}
}

// handGRPC hands c to a run's grpc-go server, waiting up to f.wait for
// one when none serves; a connection that none takes is answered
// unavailable.
func (f *front) handGRPC(c net.Conn) {
	var timeout <-chan time.Time
	for {
		f.mu.Lock()
		serving, changed := f.cur != nil, f.changed
		f.mu.Unlock()
		if !serving && timeout == nil {
			t := time.NewTimer(f.wait)
			defer t.Stop()
			timeout = t.C
		}
		if serving {
			select {
			case f.grpc <- c:
				return
			case <-changed:
				continue
			case <-f.gone:
				refuseGRPC(c, f.unavailable(true))
				return
			}
		}
		select {
		case f.grpc <- c:
			return
		case <-changed:
		case <-timeout:
			refuseGRPC(c, f.unavailable(false))
			return
		case <-f.gone:
			refuseGRPC(c, f.unavailable(true))
			return
		}
	}
}

// attach makes h serve the front's HTTP requests, those waiting among
// them, until detach.
func (f *front) attach(h http.Handler) *frontRun {
	run := &frontRun{h: h}
	run.ctx, run.cancel = context.WithCancel(context.Background())
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cur = run
	close(f.changed)
	f.changed = make(chan struct{})
	return run
}

// detach ends run's part: the requests that come after wait for the next
// run; those in flight finish, or are canceled when ctx ends.
func (f *front) detach(ctx context.Context, run *frontRun) {
	f.mu.Lock()
	if f.cur == run {
		f.cur = nil
		close(f.changed)
		f.changed = make(chan struct{})
	}
	f.mu.Unlock()
	finished := make(chan struct{})
	go func() { run.inflight.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-ctx.Done():
		run.cancel()
		<-finished
	}
	run.cancel()
}

// grpcListener is what one run's grpc-go server accepts from: the front's
// gRPC connections, until the run stops it.
func (f *front) grpcListener() net.Listener {
	return &connQueue{conns: f.grpc, closed: make(chan struct{}), addr: f.ln.Addr(), ended: f.broke, err: func() error { return f.err }}
}

// serveHTTP hands r to the run serving, waiting for one if need be.
func (f *front) serveHTTP(w http.ResponseWriter, r *http.Request) {
	run, waited, why := f.runFor(r.Context())
	if run == nil {
		if why != "" {
			notRunning(w, r, why)
		}
		return
	}
	defer run.inflight.Done()
	if waited {
		// The wait is no time of the client's to send its request in.
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(f.limit))
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(run.ctx, cancel)
	defer stop()
	run.h.ServeHTTP(w, r.WithContext(ctx))
}

// runFor is the run serving, with its request counted in flight, once there
// is one; or nil, and what to tell the client (nothing when it left).
func (f *front) runFor(ctx context.Context) (run *frontRun, waited bool, why string) {
	var timeout <-chan time.Time
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		if f.closed {
			return nil, waited, f.unavailable(true)
		}
		if f.cur != nil {
			f.cur.inflight.Add(1)
			return f.cur, waited, ""
		}
		if timeout == nil {
			t := time.NewTimer(f.wait)
			defer t.Stop()
			timeout = t.C
		}
		waited = true
		changed := f.changed
		f.waiting++
		f.mu.Unlock()
		select {
		case <-changed:
		case <-timeout:
			timeout = nil
		case <-ctx.Done():
		}
		f.mu.Lock()
		f.waiting--
		switch {
		case ctx.Err() != nil:
			return nil, waited, ""
		case timeout == nil && f.cur == nil && !f.closed:
			return nil, waited, f.unavailable(false)
		}
	}
}

// unavailable is what a client is told when no run serves it: the app is
// restarting, or is not running (closed).
func (f *front) unavailable(closed bool) string {
	if closed {
		if why := f.until.Load(); why != nil {
			return fmt.Sprintf("gateway %s: %s", f.name, *why)
		}
		return fmt.Sprintf("gateway %s: the app is not running", f.name)
	}
	return fmt.Sprintf("gateway %s: the app is restarting (parigot dev) and did not serve this request within %s; send it again once parigot dev says the gateway serves", f.name, f.wait)
}

// waitingRequests is how many requests wait for a run.
func (f *front) waitingRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.waiting
}

// close stops serving, after the relay closed the socket: the requests
// waiting for a run are told why (why), as are those that come on the
// connections before net/http's server closes them.
func (f *front) close(why string) {
	f.until.Store(&why)
	f.stop.Store(true)
	f.mu.Lock()
	if !f.closed {
		f.closed = true
		close(f.changed)
		close(f.gone)
	}
	f.mu.Unlock()
	f.sniff.closeAll()
	ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
	defer cancel()
	if err := f.http.Shutdown(ctx); err != nil {
		f.http.Close()
	}
	f.mux.Close()
	f.loops.Wait()
}

// notRunning answers r, which no run of the app serves, unavailable with
// msg, in the protocol the client speaks (as unknownRoute answers): gRPC's
// status in the headers, REST's error, or Connect's.
func notRunning(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("Retry-After", "1")
	if grpcTrailersOnly(w, r, "14", msg) { // unavailable
		return
	}
	if !procedureShaped(r.URL.Path) {
		restError(w, http.StatusServiceUnavailable, connect.CodeUnavailable, msg)
		return
	}
	connectError(w, http.StatusServiceUnavailable, connect.CodeUnavailable, msg)
}

// refuseGRPC answers the first call of c, a gRPC connection that no run's
// server took, with status unavailable and msg, having first told the
// client (GOAWAY) to make its next calls on a new connection, which the
// next run may serve. The sniffer has sent c the server's SETTINGS
// already.
func refuseGRPC(c net.Conn, msg string) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(ReadHeaderTimeout))
	if !hasPreface(c) {
		return
	}
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = maxHeaderBytes
	for {
		fm, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch fm := fm.(type) {
		case *http2.SettingsFrame:
			if !fm.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			id := fm.StreamID
			var block bytes.Buffer
			enc := hpack.NewEncoder(&block)
			enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
			enc.WriteField(hpack.HeaderField{Name: "content-type", Value: "application/grpc"})
			enc.WriteField(hpack.HeaderField{Name: "grpc-status", Value: "14"})
			enc.WriteField(hpack.HeaderField{Name: "grpc-message", Value: grpcMessage(msg)})
			if fr.WriteGoAway(id, http2.ErrCodeNo, nil) != nil ||
				fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndHeaders: true, EndStream: true}) != nil {
				return
			}
			// The client closes the connection once it has read the
			// answer: closing it first, with its frames unread, could
			// reset it before the answer is read.
			raw := c
			if mc, ok := c.(*cmux.MuxConn); ok {
				raw = mc.Conn
			}
			if hc, ok := raw.(interface{ CloseWrite() error }); ok {
				hc.CloseWrite()
			}
			io.Copy(io.Discard, c)
			return
		}
	}
}

// connQueue is a listener whose connections come from a channel, until it
// is closed, or ended is.
type connQueue struct {
	conns  <-chan net.Conn
	closed chan struct{}
	once   sync.Once
	addr   net.Addr
	ended  <-chan struct{}
	err    func() error // why ended was closed
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case <-q.closed:
		return nil, net.ErrClosed
	default:
	}
	select {
	case c := <-q.conns:
		return c, nil
	case <-q.closed:
		return nil, net.ErrClosed
	case <-q.ended:
		if err := q.err(); err != nil {
			return nil, err
		}
		return nil, errors.New("the gateway's socket stopped serving")
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.closed) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }
