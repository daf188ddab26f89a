package split

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// The frames of a direct connection (see direct.go). Each is a 4-byte
// big-endian length, then that many bytes: a kind byte and its body.
//
//	hello   caller -> service, first: u16 0xffff | u16 version | u16 len, guest | u16 len, who | token
//	        (version 1's, which said no version: u16 len, guest | u16 len, who | token)
//	call    caller -> service: u64 id | i64 timeout (ns; 0: none) | i64 sent (Unix ns) | u16 len, method | u8 len, traceparent | u16 len, header (abi.Event.Header) | payload
//	reply   service -> caller: u64 id | u32 code | payload
//	goaway  service -> caller: no new calls on this connection (it drains)
//	ack     caller -> service: after a goaway; no call follows it
//	welcome service -> caller: the hello was accepted; calls may follow
//	refused service -> caller: the hello was refused: a message; the connection closes
//	movable caller -> service: a call, as call, that may go to another replica
//	untaken service -> caller: u64 id: a movable call handed back, untaken (it goes elsewhere)
//	given   caller -> service: u64 id, ...: calls their caller gave up (dropped unrun if not taken yet)
type frameKind byte

const (
	frameHello frameKind = iota + 1
	frameCall
	frameReply
	frameGoaway
	frameAck
	frameRefused
	frameWelcome
	frameMovable
	frameUntaken
	frameGiven
)

// directVersion is the version of the direct protocol this process speaks:
// its frames, their fields and what they mean. A caller and a replica of
// different versions make no direct connection: the caller's calls go
// through the NATS server, which works across versions (see
// directClient.connect, directServer.offer, serverConn.hello). Bump it
// with any change that a process of the previous version would misread
// (a new frame kind, a field added to a frame, a new meaning of one), and
// say below what the new version changed.
//
//	1  every version that said none (in its hello, offers and requests
//	   for them): up to frameGiven, which its later releases had and its
//	   earlier ones took for a broken connection
//	2  says its version; the frames above
const directVersion = 2

// helloVersioned is the first u16 of a hello that says its version: the
// length of a guest's name no hello of version 1 can hold (maxHello), so
// that a process of version 1 refuses it as malformed, and the hello's
// first four bytes, which no version may change, tell the version of any.
const helloVersioned = 0xffff

// maxFrame bounds a frame read from a direct connection: the largest
// payload guests are promised, a method name, a traceparent and a call's
// header. A larger frame is a broken or hostile peer, and ends the
// connection.
const maxFrame = abi.MaxPayload + maxMethod + abi.MaxHeader + 1024

var errFrame = errors.New("malformed frame")

// frameWriter writes frames to a buffered connection; its caller
// serializes the writes and flushes.
type frameWriter struct{ w *bufio.Writer }

func (f frameWriter) header(kind frameKind, size int) {
	var h [5]byte
	binary.BigEndian.PutUint32(h[:4], uint32(size+1))
	h[4] = byte(kind)
	f.w.Write(h[:])
}

// hello writes a caller's hello of the direct protocol's version: as
// version 1 wrote it, without a version, for a test's caller of version 1.
func (f frameWriter) hello(version int, guest, who string, token []byte) error {
	size := 2 + len(guest) + 2 + len(who) + len(token)
	if version == 1 {
		f.header(frameHello, size)
	} else {
		f.header(frameHello, 4+size)
		var v [4]byte
		binary.BigEndian.PutUint16(v[:2], helloVersioned)
		binary.BigEndian.PutUint16(v[2:], uint16(version))
		f.w.Write(v[:])
	}
	f.str16(guest)
	f.str16(who)
	f.w.Write(token)
	return f.w.Flush()
}

func (f frameWriter) str16(s string) {
	var n [2]byte
	binary.BigEndian.PutUint16(n[:], uint16(len(s)))
	f.w.Write(n[:])
	f.w.WriteString(s)
}

// call writes a call frame: a movable one (frameMovable) when movable.
func (f frameWriter) call(id uint64, timeout, sent int64, method, traceparent string, header, payload []byte, movable bool) error {
	if len(method) > maxMethod || len(traceparent) > 255 || len(header) > abi.MaxHeader {
		return errFrame
	}
	kind := frameCall
	if movable {
		kind = frameMovable
	}
	f.header(kind, 8+8+8+2+len(method)+1+len(traceparent)+2+len(header)+len(payload))
	var b [24]byte
	binary.BigEndian.PutUint64(b[:8], id)
	binary.BigEndian.PutUint64(b[8:16], uint64(timeout))
	binary.BigEndian.PutUint64(b[16:], uint64(sent))
	f.w.Write(b[:])
	f.str16(method)
	f.w.WriteByte(byte(len(traceparent)))
	f.w.WriteString(traceparent)
	var hl [2]byte
	binary.BigEndian.PutUint16(hl[:], uint16(len(header)))
	f.w.Write(hl[:])
	f.w.Write(header)
	f.w.Write(payload)
	return f.w.Flush()
}

func (f frameWriter) reply(id uint64, code abi.Code, payload []byte) error {
	f.header(frameReply, 12+len(payload))
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], id)
	binary.BigEndian.PutUint32(b[8:], uint32(code))
	f.w.Write(b[:])
	f.w.Write(payload)
	return f.w.Flush()
}

func (f frameWriter) untaken(id uint64) error {
	f.header(frameUntaken, 8)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	f.w.Write(b[:])
	return f.w.Flush()
}

// given writes a frame of the ids of calls their caller gave up.
func (f frameWriter) given(ids []uint64) error {
	f.header(frameGiven, 8*len(ids))
	f.w.Write(appendGiven(nil, ids))
	return f.w.Flush()
}

// appendGiven appends to b the body that names the calls ids as given up
// by their caller: a frameGiven's, and a given-up message's through the
// NATS server (given.go). Each id is a u64.
func appendGiven(b []byte, ids []uint64) []byte {
	for _, id := range ids {
		b = binary.BigEndian.AppendUint64(b, id)
	}
	return b
}

// noteGiven adds to g the calls a body of appendGiven names: those its
// guest has not taken yet are dropped unrun (route.Abandoner). The one
// rule for a direct connection's given frames and the NATS server's
// given-up messages.
func noteGiven(g *route.GivenUp, body []byte) {
	for f := (frameReader{b: body}); len(f.b) >= 8; {
		g.Add(f.u64())
	}
}

func (f frameWriter) empty(kind frameKind) error {
	f.header(kind, 0)
	return f.w.Flush()
}

func (f frameWriter) refused(msg string) error {
	f.header(frameRefused, len(msg))
	f.w.WriteString(msg)
	return f.w.Flush()
}

// readFrame reads one frame; its body is a fresh slice the caller keeps.
func readFrame(r *bufio.Reader) (frameKind, []byte, error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	size := binary.BigEndian.Uint32(h[:4])
	if size == 0 || size > maxFrame {
		return 0, nil, fmt.Errorf("%w: %d bytes", errFrame, size)
	}
	body := make([]byte, size-1)
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return frameKind(h[4]), body, nil
}

// frameReader takes a frame's body apart; a field past its end marks it
// malformed.
type frameReader struct {
	b   []byte
	bad bool
}

func (f *frameReader) take(n int) []byte {
	if f.bad || n > len(f.b) {
		f.bad = true
		return nil
	}
	v := f.b[:n:n]
	f.b = f.b[n:]
	return v
}

func (f *frameReader) u64() uint64 {
	if b := f.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (f *frameReader) u32() uint32 {
	if b := f.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (f *frameReader) str16() string {
	b := f.take(2)
	if b == nil {
		return ""
	}
	return string(f.take(int(binary.BigEndian.Uint16(b))))
}

// bytes16 is a field of a u16 length and its bytes, which alias the
// frame's body (a fresh slice of the call's own); nil when empty.
func (f *frameReader) bytes16() []byte {
	b := f.take(2)
	if b == nil {
		return nil
	}
	if n := int(binary.BigEndian.Uint16(b)); n > 0 {
		return f.take(n)
	}
	return nil
}

func (f *frameReader) str8() string {
	b := f.take(1)
	if b == nil {
		return ""
	}
	return string(f.take(int(b[0])))
}

// rest is what is left of the body, or nil when it is malformed.
func (f *frameReader) rest() []byte {
	if f.bad {
		return nil
	}
	return f.b
}

// helloFields is what a hello says.
type helloFields struct {
	version    int // 1 for a hello that says none
	guest, who string
	token      []byte
}

// parseHello takes the body of a hello apart: its version, and the rest
// when this process knows how that version lays it out (up to its own;
// a later one may differ). A body that ends inside a field is an error.
func parseHello(body []byte) (helloFields, error) {
	f := frameReader{b: body}
	h := helloFields{version: 1}
	if len(body) >= 4 && binary.BigEndian.Uint16(body) == helloVersioned {
		f.take(2)
		h.version = int(binary.BigEndian.Uint16(f.take(2)))
		if h.version < 1 || h.version > directVersion {
			return h, nil
		}
	}
	h.guest, h.who = f.str16(), f.str16()
	h.token = f.rest()
	if f.bad {
		return h, errFrame
	}
	return h, nil
}

// callFields is what a call frame says.
type callFields struct {
	id              uint64
	timeout, sent   int64 // nanoseconds; Unix nanoseconds
	method, tparent string
	header          []byte // abi.Event.Header; nil when none
	payload         []byte
}

// parseCall takes the body of a call frame apart. A body that ends inside
// a field, or whose header is malformed (abi.CheckHeader), is an error;
// the id is set whenever the body holds one, so that the call is answered.
func parseCall(body []byte) (callFields, error) {
	f := frameReader{b: body}
	var c callFields
	c.id = f.u64()
	c.timeout, c.sent = int64(f.u64()), int64(f.u64())
	c.method, c.tparent = f.str16(), f.str8()
	c.header = f.bytes16()
	c.payload = f.rest()
	if f.bad {
		return c, errCallFrame
	}
	if err := abi.CheckHeader(c.header); err != nil {
		return c, fmt.Errorf("%w: %w", errCallFrame, err)
	}
	return c, nil
}

// errCallFrame is a call frame from a broken or hostile peer: the call is
// refused with invalid argument, and the connection serves on.
var errCallFrame = errors.New("malformed call frame")
