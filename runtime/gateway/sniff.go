package gateway

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/soheilhy/cmux"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// sniffLimit bounds what a connection may send before its first request's
// headers are known: the frames before them and the headers themselves.
// A connection that sends more is not gRPC's; net/http takes it and
// applies its own limits.
const sniffLimit = maxHeaderBytes + 64<<10

// sniffer splits a gateway's connections between its two servers (see
// listen): a cleartext HTTP/2 connection whose first request is gRPC with
// protobuf goes to grpc-go's, everything else to net/http's. It keeps the
// connections being looked at, so that Stop can close them, and which of
// them it has sent a SETTINGS frame to.
//
// Why it writes its own matcher rather than use cmux's
// HTTP2MatchHeaderFieldSendSettings: a gRPC client (grpc-go's among them)
// sends no request before the server's SETTINGS frame, so the matcher must
// send one; the client acknowledges it, and net/http's HTTP/2 server,
// which never sent it, hangs up on an acknowledgement it cannot account
// for (cmux issue 95). The sniffer remembers the connections it sent
// SETTINGS to, and net/http reads them through ackFilter, which removes
// that one acknowledgement. (cmux's matcher would also send a SETTINGS
// frame per content type it is given.)
type sniffer struct {
	mu       sync.Mutex
	matching map[net.Conn]sniffed // accepted, not yet handed over
	closed   bool                 // by closeAll: what is accepted now is closed at once
	warned   atomic.Int64         // when a failing accept was last logged (Unix ns)
}

// sniffed is what the sniffer knows of a connection it looks at.
type sniffed struct {
	settings bool // it was sent the sniffer's SETTINGS frame
	// late: it began as HTTP/2 and did not send its first request's
	// headers whole in time (see isGRPC).
	late bool
}

func newSniffer() *sniffer { return &sniffer{matching: map[net.Conn]sniffed{}} }

// accepted records c, taken by the root listener.
func (s *sniffer) accepted(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.matching[c] = sniffed{}
	return true
}

func (s *sniffer) sentSettings(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.matching[c]; ok {
		st.settings = true
		s.matching[c] = st
	}
}

// tooLate marks c as one whose first request did not arrive in time.
func (s *sniffer) tooLate(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.matching[c]; ok {
		st.late = true
		s.matching[c] = st
	}
}

// handed forgets c, given to a server, and says whether it was sent
// SETTINGS.
func (s *sniffer) handed(c net.Conn) (sent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sent = s.matching[c].settings
	delete(s.matching, c)
	return sent
}

// isLate reports whether c was marked tooLate.
func (s *sniffer) isLate(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.matching[c].late
}

// closeAll closes the connections being looked at, and any accepted
// later: the gateway is stopping.
func (s *sniffer) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.matching {
		c.Close()
	}
	clear(s.matching)
}

// rootListener is the gateway's TCP listener, telling the sniffer of every
// connection it accepts.
type rootListener struct {
	net.Listener
	s    *sniffer
	name string       // the gateway's
	log  *slog.Logger // where a failing accept is said
}

// Accept takes the next connection. An accept that fails for want of file
// descriptors (clients hold as many connections as the process may open)
// or memory is tried again after a wait, 5 ms doubling to a second, as
// net/http's server waits: cmux, which calls Accept, tried again at once,
// and spun a core, which the app's guests needed, while the clients held
// on.
func (l rootListener) Accept() (net.Conn, error) {
	var backoff time.Duration
	for {
		c, err := l.Listener.Accept()
		if outOfResources(err) {
			if now := time.Now().UnixNano(); l.log != nil && now-l.s.warned.Load() > int64(acceptWarnEvery) {
				l.s.warned.Store(now)
				l.log.Warn(fmt.Sprintf("gateway %s: cannot accept connections (%v): clients hold as many as the process may open; it takes them again as they close", l.name, err))
			}
			backoff = min(max(2*backoff, acceptBackoff), time.Second)
			time.Sleep(backoff)
			continue
		}
		if err != nil || l.s.accepted(c) {
			return c, err
		}
		c.Close()
	}
}

// outOfResources reports whether an accept failed for want of file
// descriptors or memory, which time may give back.
func outOfResources(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

const (
	// acceptBackoff is the first wait after a failed accept.
	acceptBackoff = 5 * time.Millisecond
	// acceptWarnEvery bounds how often a failing accept is logged.
	acceptWarnEvery = 10 * time.Second
)

// serverListener is what one of the gateway's servers accepts from cmux.
// net/http's (filter set) reads a connection that was sent the sniffer's
// SETTINGS frame through ackFilter.
type serverListener struct {
	net.Listener
	s      *sniffer
	filter bool
}

func (l serverListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	raw := c
	if mc, ok := c.(*cmux.MuxConn); ok {
		raw = mc.Conn
	}
	if l.s.handed(raw) && l.filter {
		return newAckFilter(c), nil
	}
	return c, nil
}

// isGRPC matches a connection that starts as HTTP/2 without TLS and whose
// first request has the content type of gRPC with protobuf. w is the
// connection, r what it sent. It answers the client's SETTINGS frame.
//
// A connection that has not sent its first request's headers whole by
// cmux's read timeout is marked tooLate, and closed (sentSomething does not
// take it): net/http's HTTP/2 server, which would take it otherwise, bounds
// nothing of a request whose headers never end, and a client that sent
// headers of almost 1 MiB, then nothing, held twice that of the gateway's
// memory until the connection's idle timeout, minutes later.
func (s *sniffer) isGRPC(w io.Writer, r io.Reader) bool {
	lr := &lateReader{r: io.LimitReader(r, sniffLimit)}
	match := s.matchGRPC(w, lr)
	if c, ok := w.(net.Conn); ok && lr.late {
		s.tooLate(c)
	}
	return match
}

// lateReader notes whether a read passed its deadline.
type lateReader struct {
	r    io.Reader
	late bool
}

func (l *lateReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		l.late = true
	}
	return n, err
}

// matchGRPC is isGRPC's look at what the connection sent.
func (s *sniffer) matchGRPC(w io.Writer, r io.Reader) bool {
	if !hasPreface(r) {
		return false
	}
	fr := http2.NewFramer(w, r)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = maxHeaderBytes
	sent := false
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return false
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() || sent {
				continue
			}
			if err := fr.WriteSettings(); err != nil {
				return false
			}
			sent = true
			if c, ok := w.(net.Conn); ok {
				s.sentSettings(c)
			}
		case *http2.MetaHeadersFrame:
			var types []string
			for _, hf := range f.RegularFields() {
				if hf.Name == "content-type" {
					types = append(types, hf.Value)
				}
			}
			return len(types) == 1 && grpcProto(types[0])
		}
	}
}

// grpcProto says whether a request's content type is gRPC's with protobuf,
// the one encoding grpc-go's server takes from the gateway (grpcCodec).
func grpcProto(contentType string) bool {
	return contentType == "application/grpc" || contentType == "application/grpc+proto"
}

// hasPreface reads HTTP/2's client preface from r, giving up at the first
// byte that differs (an HTTP/1.1 request shorter than the preface must not
// wait for more).
func hasPreface(r io.Reader) bool {
	var b [len(http2.ClientPreface)]byte
	for n := 0; n < len(b); {
		m, err := r.Read(b[n:])
		if string(b[n:n+m]) != http2.ClientPreface[n:n+m] {
			return false
		}
		n += m
		if err != nil && n < len(b) {
			return false
		}
	}
	return true
}

// sentSomething matches a connection that sent at least a byte before
// cmux's read timeout: a silent one is closed (by cmux, and forgotten
// here) rather than handed to net/http, which would wait its own
// ReadHeaderTimeout again; so is one that began as HTTP/2 and did not
// send its first request's headers whole in that time (see isGRPC). It is
// the last matcher.
func (s *sniffer) sentSomething(w io.Writer, r io.Reader) bool {
	c, _ := w.(net.Conn)
	if c != nil && s.isLate(c) {
		s.handed(c)
		return false
	}
	var b [1]byte
	if n, _ := r.Read(b[:]); n == 1 {
		return true
	}
	if c != nil {
		s.handed(c)
	}
	return false
}

// ackFilter reads an HTTP/2 connection without the first SETTINGS
// acknowledgement its client sends: the one for the sniffer's SETTINGS
// frame, which the client received before net/http's (a client
// acknowledges SETTINGS frames in the order it receives them).
type ackFilter struct {
	net.Conn
	br      *bufio.Reader
	left    int  // bytes of the preface or of the current frame still to pass
	dropped bool // the acknowledgement is gone: pass everything
}

func newAckFilter(c net.Conn) *ackFilter {
	return &ackFilter{Conn: c, br: bufio.NewReader(c), left: len(http2.ClientPreface)}
}

func (a *ackFilter) Read(p []byte) (int, error) {
	if a.dropped {
		return a.br.Read(p)
	}
	if a.left == 0 {
		h, err := a.br.Peek(9) // a frame's header
		if err != nil {
			return a.br.Read(p) // what there is, then the error
		}
		length := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
		if http2.FrameType(h[3]) == http2.FrameSettings && http2.Flags(h[4]).Has(http2.FlagSettingsAck) && length == 0 {
			a.br.Discard(9)
			a.dropped = true
			return a.br.Read(p)
		}
		a.left = 9 + length
	}
	if len(p) > a.left {
		p = p[:a.left]
	}
	n, err := a.br.Read(p)
	a.left -= n
	return n, err
}
