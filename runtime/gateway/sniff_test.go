package gateway

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2cStart is what an HTTP/2 client sends first: the preface, its
// SETTINGS, a request's HEADERS with contentType, and the acknowledgements
// of the sniffer's SETTINGS and of the server's, both after the request or
// the first before it.
func h2cStart(t testing.TB, contentType string, ackFirst bool) []byte {
	t.Helper()
	var hdr bytes.Buffer
	enc := hpack.NewEncoder(&hdr)
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/test.v1.Echo/Say"}, {"content-type", contentType}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	var out bytes.Buffer
	out.WriteString(http2.ClientPreface)
	fr := http2.NewFramer(&out, nil)
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	if ackFirst {
		fr.WriteSettingsAck()
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hdr.Bytes(), EndHeaders: true})
	fr.WriteSettingsAck()
	if !ackFirst {
		fr.WriteSettingsAck()
	}
	return out.Bytes()
}

func TestTheSnifferMatchesGRPCWithProtobufOnly(t *testing.T) {
	for _, c := range []struct {
		contentType string
		want        bool
	}{
		{"application/grpc", true},
		{"application/grpc+proto", true},
		{"application/grpc+json", false},
		{"application/grpc-web+proto", false},
		{"application/proto", false},
		{"application/json", false},
	} {
		t.Run(c.contentType, func(t *testing.T) {
			var answer bytes.Buffer
			if got := newSniffer().isGRPC(&answer, bytes.NewReader(h2cStart(t, c.contentType, false))); got != c.want {
				t.Errorf("matched %v, want %v", got, c.want)
			}
			f, err := http2.NewFramer(nil, &answer).ReadFrame()
			if sf, ok := f.(*http2.SettingsFrame); err != nil || !ok || sf.IsAck() {
				t.Errorf("the sniffer answered %v, %v; want a SETTINGS frame", f, err)
			}
		})
	}
	t.Run("an HTTP/1.1 request shorter than the preface is refused at once", func(t *testing.T) {
		r, w := io.Pipe() // no more than this comes, and no EOF
		go w.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
		if newSniffer().isGRPC(io.Discard, r) {
			t.Error("matched")
		}
	})
}

func TestAckFilterDropsTheFirstSettingsAckOnly(t *testing.T) {
	for _, ackFirst := range []bool{false, true} {
		in := h2cStart(t, "application/json", ackFirst)
		got, err := io.ReadAll(&ackFilter{br: bufio.NewReader(bytes.NewReader(in)), left: len(http2.ClientPreface)})
		if err != nil {
			t.Fatal(err)
		}
		fr := http2.NewFramer(nil, bytes.NewReader(got[len(http2.ClientPreface):]))
		acks, headers := 0, 0
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				break
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if f.IsAck() {
					acks++
				}
			case *http2.HeadersFrame:
				headers++
			}
		}
		if len(got) != len(in)-9 || acks != 1 || headers != 1 {
			t.Errorf("ack first %v: %d of %d bytes passed, %d acknowledgements and %d HEADERS; want one of each", ackFirst, len(got), len(in), acks, headers)
		}
	}
}

// FuzzSniffer gives the sniffer and the acknowledgement filter any bytes a
// connection may send: neither may panic, and the filter passes everything
// but at most one 9-byte frame.
func FuzzSniffer(f *testing.F) {
	f.Add(h2cStart(f, "application/grpc", false))
	f.Add(h2cStart(f, "application/json", true))
	f.Add([]byte("POST /test.v1.Echo/Say HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte(http2.ClientPreface + "\x00\x00\x00\x04\x01\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		newSniffer().isGRPC(io.Discard, bytes.NewReader(in))
		out, _ := io.ReadAll(&ackFilter{br: bufio.NewReader(bytes.NewReader(in)), left: len(http2.ClientPreface)})
		if len(out) != len(in) && len(out) != len(in)-9 {
			t.Errorf("the filter passed %d of %d bytes", len(out), len(in))
		}
	})
}

// exhaustedListener fails every Accept as a process out of file
// descriptors does, counting them, until a connection is handed to it.
type exhaustedListener struct {
	net.Listener
	tries atomic.Int32
	conn  chan net.Conn
}

func (l *exhaustedListener) Accept() (net.Conn, error) {
	l.tries.Add(1)
	select {
	case c := <-l.conn:
		return c, nil
	default:
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
}

// A process out of file descriptors (clients hold as many connections as
// it may open) waits between its tries to accept, says so once, and takes
// the next connection once it can: cmux tried again at once, and spun a
// core that the app's guests needed.
func TestAnAcceptOutOfFileDescriptorsWaitsBetweenTries(t *testing.T) {
	var logged bytes.Buffer
	l := &exhaustedListener{conn: make(chan net.Conn, 1)}
	root := rootListener{l, newSniffer(), "public", slog.New(slog.NewTextHandler(&logged, nil))}
	accepted := make(chan net.Conn)
	go func() {
		c, _ := root.Accept()
		accepted <- c
	}()
	time.Sleep(300 * time.Millisecond)
	if n := l.tries.Load(); n > 10 {
		t.Errorf("%d tries to accept in 300ms, want a few (5ms, 10ms, 20ms... between them)", n)
	}
	ours, theirs := net.Pipe()
	defer theirs.Close()
	l.conn <- ours
	select {
	case c := <-accepted:
		if c != ours {
			t.Errorf("accepted %v, want the connection", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the connection was not taken once it could be")
	}
	if got := logged.String(); strings.Count(got, "gateway public: cannot accept connections") != 1 || !strings.Contains(got, "too many open files") {
		t.Errorf("logged %q, want one line saying the gateway cannot accept, and why", got)
	}
}
