package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/soheilhy/cmux"
	"google.golang.org/grpc"
)

// The server's bounds.
const (
	// ReadHeaderTimeout bounds how long a client may take to send a
	// request's headers.
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds how long a client may take to send a whole
	// request, body included: a client that sends slowly or never
	// finishes holds a connection no longer.
	ReadTimeout = 30 * time.Second
	// WriteTimeout bounds how long a client may take to read a reply,
	// from its first byte: a client that reads slowly or never holds
	// neither a connection nor the reply's memory any longer.
	WriteTimeout = 30 * time.Second
	// IdleTimeout closes a kept-alive connection without requests.
	IdleTimeout = 2 * time.Minute
	// StopTimeout bounds a graceful stop: the gateway stops accepting,
	// then waits this long at most for the requests in flight.
	StopTimeout = 5 * time.Second
	// maxHeaderBytes bounds a request's headers.
	maxHeaderBytes = 1 << 20
	// streamWriteTimer is net/http's WriteTimeout, which no reply reaches:
	// it gives every HTTP/2 stream a write deadline's timer from the
	// stream's start, which boundWrite moves to the reply's first byte
	// (over HTTP/1.1 it is the connection's write deadline from each
	// request's headers, which boundWrite moves the same way). net/http's
	// HTTP/2 server stops a stream's timer when the stream closes, and
	// ignores a deadline set after that. Without a timer from the start, a
	// deadline set on a stream its client had reset already (a reply that
	// comes after the client's RST_STREAM) started a timer that nothing
	// stopped, which held the stream, its request and its connection until
	// it fired, WriteTimeout later: a client resetting its streams at once
	// (HTTP/2's rapid reset), tens of thousands a second, held hundreds of
	// megabytes of the gateway's memory.
	streamWriteTimer = 100 * 365 * 24 * time.Hour
)

// Server is one gateway listening on its address: net/http's server and
// grpc-go's behind one listener, which cmux splits (see listen).
type Server struct {
	name  string
	ln    net.Listener // the TCP listener
	mux   cmux.CMux
	sniff *sniffer
	http  *http.Server
	grpc  *grpc.Server // nil: every connection is net/http's
	// front, when set, serves the socket, which Held keeps across runs
	// (serveHeld): mux, sniff and http are then nil, and run is this
	// server's part of the front.
	front *front
	run   *frontRun
	// stopping is set by Stop before it closes anything: a serving loop
	// that ends then was stopped.
	stopping atomic.Bool
	stopped  chan struct{} // closed by Stop
	broke    chan error    // the first serving loop that ended by itself, once
	done     chan struct{} // closed once every serving loop has returned
}

// clientLimits bound how long a client may take to send a request, and to
// read its reply.
type clientLimits struct{ readHeader, read, write time.Duration }

// defaultLimits are the gateway's: ReadHeaderTimeout, ReadTimeout and
// WriteTimeout.
var defaultLimits = clientLimits{ReadHeaderTimeout, ReadTimeout, WriteTimeout}

// listen starts serving on addr, HTTP/1.1 and HTTP/2 without TLS (h2c,
// which gRPC clients speak in cleartext) on one port. A cleartext HTTP/2
// connection whose first request is gRPC with protobuf goes to g,
// grpc-go's server over grpc-go's own transport, which writes a call's
// frames from one goroutine where net/http's HTTP/2 server starts one per
// frame (docs/BENCHMARKS.md, the gateway); every other connection goes to
// h through net/http. cmux splits the connections, each looked at on a
// goroutine of its own for up to limits.readHeader: one that sends
// nothing, or garbage, delays no other. g may be nil: h takes everything.
func listen(name, addr string, h http.Handler, g *grpc.Server, log *slog.Logger, limits clientLimits) (*Server, error) {
	ln, err := listenTCP(name, addr)
	if err != nil {
		return nil, err
	}
	return serveOn(name, ln, h, g, log, limits), nil
}

// listenTCP opens gateway name's socket at addr, saying what to do when
// another program holds the address.
func listenTCP(name, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("gateway %s: %s is in use by another program: stop it, or give the gateway another address with --listen (127.0.0.1:0 picks a free port) or its listen in parigot.hcl", name, addr)
	}
	if err != nil {
		return nil, fmt.Errorf("gateway %s: %w", name, err)
	}
	return ln, nil
}

// serveOn serves as listen does, on ln, which Stop closes.
func serveOn(name string, ln net.Listener, h http.Handler, g *grpc.Server, log *slog.Logger, limits clientLimits) *Server {
	s := &Server{name: name, ln: ln, sniff: newSniffer(), grpc: g,
		stopped: make(chan struct{}), broke: make(chan error, 1), done: make(chan struct{}),
		http: newHTTPServer(h, log, limits)}
	s.mux = cmux.New(rootListener{ln, s.sniff, name, log})
	s.mux.SetReadTimeout(limits.readHeader)
	var loops sync.WaitGroup
	serve := func(f func() error) { s.serve(&loops, f) }
	if g != nil {
		grpcL := serverListener{s.mux.MatchWithWriters(s.sniff.isGRPC), s.sniff, false}
		serve(func() error { return g.Serve(grpcL) })
	}
	httpL := serverListener{s.mux.MatchWithWriters(s.sniff.sentSomething), s.sniff, true}
	serve(func() error { return s.http.Serve(httpL) })
	serve(s.mux.Serve)
	go func() { loops.Wait(); close(s.done) }()
	return s
}

// newHTTPServer is net/http's server of a gateway's HTTP requests, h
// answering them, with the limits a client is held to.
func newHTTPServer(h http.Handler, log *slog.Logger, limits clientLimits) *http.Server {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	var h2 *http.HTTP2Config
	if limits.write > 0 {
		// An HTTP/2 connection from which no frame comes for limits.write
		// is asked whether its client is there (a PING), and closed when
		// no answer comes within limits.write more, as grpc-go's are (see
		// newGRPC). Without it a client that began a request's headers and
		// never ended them (a header block in CONTINUATION frames, up to
		// maxHeaderBytes) held them until IdleTimeout, minutes later.
		h2 = &http.HTTP2Config{SendPingTimeout: limits.write, PingTimeout: limits.write}
	}
	return &http.Server{
		Handler:           boundWrite(limits.write, h),
		Protocols:         &protocols,
		HTTP2:             h2,
		ReadHeaderTimeout: limits.readHeader,
		ReadTimeout:       limits.read,
		WriteTimeout:      streamWriteTimer,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

// serve runs loop, one of s's serving loops, counted in loops: an end
// that Stop did not ask for is reported on broke.
func (s *Server) serve(loops *sync.WaitGroup, loop func() error) {
	loops.Go(func() {
		err := loop()
		if !s.stopping.Load() {
			select {
			case s.broke <- err:
			default:
			}
		}
	})
}

// serveHeld serves as serveOn does, on the socket f serves across runs:
// h answers its HTTP requests, g (not nil) its gRPC connections, until
// Stop, which leaves the socket, and the connections net/http serves,
// open for the next run.
func serveHeld(name string, f *front, h http.Handler, g *grpc.Server) *Server {
	s := &Server{name: name, ln: f.ln, grpc: g, front: f,
		stopped: make(chan struct{}), broke: make(chan error, 1), done: make(chan struct{})}
	s.run = f.attach(h)
	var loops sync.WaitGroup
	serve := func(f func() error) { s.serve(&loops, f) }
	grpcL := f.grpcListener()
	serve(func() error { return g.Serve(grpcL) })
	serve(func() error {
		select {
		case <-f.broke:
			return f.err
		case <-s.stopped:
			return nil
		}
	})
	go func() { loops.Wait(); close(s.done) }()
	return s
}

// boundWrite gives each reply of h limit to be written, from its first
// byte: net/http's WriteTimeout would count the call's own time too, which
// a method's budget (up to an hour) already bounds.
func boundWrite(limit time.Duration, h http.Handler) http.Handler {
	if limit <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&writeBounded{ResponseWriter: w, limit: limit}, r)
	})
}

// writeBounded sets its write deadline when the reply starts.
type writeBounded struct {
	http.ResponseWriter
	limit   time.Duration
	started bool
}

func (w *writeBounded) start() {
	if !w.started {
		w.started = true
		http.NewResponseController(w.ResponseWriter).SetWriteDeadline(time.Now().Add(w.limit))
	}
}

func (w *writeBounded) WriteHeader(code int) {
	w.start()
	w.ResponseWriter.WriteHeader(code)
}

func (w *writeBounded) Write(p []byte) (int, error) {
	w.start()
	return w.ResponseWriter.Write(p)
}

// Flush flushes the reply, for the protocols that stream it (gRPC-Web,
// gRPC over net/http).
func (w *writeBounded) Flush() {
	w.start()
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *writeBounded) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// URL is where clients reach the gateway.
func (s *Server) URL() string { return URLOf(s.ln.Addr()) }

// URLOf is the http URL a browser on this machine reaches a listener at:
// a listener on every address (0.0.0.0, ::) at the loopback address, for
// "http://[::]:8080" opens nothing in most browsers.
func URLOf(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}

// Stop stops accepting, lets the requests in flight finish for up to
// StopTimeout, then closes every connection. On a held socket (serveHeld)
// it stops this run's part alone: the socket and the connections
// net/http serves stay open, their next requests waiting for the next
// run; grpc-go's connections end, their clients connecting again.
func (s *Server) Stop() {
	if s.stopping.Swap(true) {
		<-s.done
		return
	}
	close(s.stopped)
	ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
	defer cancel()
	var servers sync.WaitGroup
	if s.front != nil {
		servers.Go(func() { s.front.detach(ctx, s.run) })
	} else {
		s.ln.Close()
		s.sniff.closeAll() // the connections not yet handed to a server
		servers.Go(func() {
			if err := s.http.Shutdown(ctx); err != nil {
				s.http.Close()
			}
		})
	}
	if s.grpc != nil {
		servers.Go(func() {
			graceful := make(chan struct{})
			go func() { s.grpc.GracefulStop(); close(graceful) }()
			select {
			case <-graceful:
			case <-ctx.Done():
				s.grpc.Stop()
				<-graceful
			}
		})
	}
	servers.Wait()
	if s.mux != nil {
		s.mux.Close()
	}
	<-s.done
}

// watch sends on failed why the server stopped serving, when it stopped by
// itself rather than by Stop.
func (s *Server) watch(failed chan<- error) {
	select {
	case err := <-s.broke:
		failed <- fmt.Errorf("gateway %s stopped serving: %w", s.name, err)
	case <-s.stopped:
	}
}
