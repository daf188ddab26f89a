package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
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
	// IdleTimeout closes a kept-alive connection without requests.
	IdleTimeout = 2 * time.Minute
	// StopTimeout bounds a graceful stop: the gateway stops accepting,
	// then waits this long at most for the requests in flight.
	StopTimeout = 5 * time.Second
	// maxHeaderBytes bounds a request's headers.
	maxHeaderBytes = 1 << 20
)

// Server is one gateway listening on its address.
type Server struct {
	name string
	ln   net.Listener
	srv  *http.Server
	done chan struct{} // closed when Serve returns
	err  error         // what Serve returned, once done is closed
}

// clientLimits bound how long a client may take to send a request.
type clientLimits struct{ readHeader, read time.Duration }

// defaultLimits are the gateway's: ReadHeaderTimeout and ReadTimeout.
var defaultLimits = clientLimits{ReadHeaderTimeout, ReadTimeout}

// listen starts serving h on addr, HTTP/1.1 and HTTP/2 without TLS (h2c,
// which gRPC clients speak in cleartext) on one port.
func listen(name, addr string, h http.Handler, log *slog.Logger, limits clientLimits) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("gateway %s: %w", name, err)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	s := &Server{name: name, ln: ln, done: make(chan struct{}), srv: &http.Server{
		Handler:           h,
		Protocols:         &protocols,
		ReadHeaderTimeout: limits.readHeader,
		ReadTimeout:       limits.read,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}}
	go func() { s.err = s.srv.Serve(ln); close(s.done) }()
	return s, nil
}

// URL is where clients reach the gateway.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Stop stops accepting, lets the requests in flight finish for up to
// StopTimeout, then closes every connection.
func (s *Server) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
	<-s.done
}

// watch sends on failed why the server stopped serving, when it stopped by
// itself rather than by stop.
func (s *Server) watch(failed chan<- error) {
	<-s.done
	if s.err != http.ErrServerClosed {
		failed <- fmt.Errorf("gateway %s stopped serving: %w", s.name, s.err)
	}
}
