package split

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"parigot.dev/parigot/runtime/internal/abi"
)

func TestFramesRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := frameWriter{bufio.NewWriter(&buf)}
	header := abi.AppendHeader(abi.AppendHeader(nil, "authorization", "Bearer abc"), "x-request-id", "r-1")
	w.hello(directVersion, "echo", "ticker", []byte("token"))
	w.call(7, 1500, 42, "test.Echo/Echo", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", nil, []byte("hi"), false)
	w.reply(7, abi.CodeNotFound, []byte("no"))
	w.empty(frameGoaway)
	w.call(8, 0, 43, "test.Echo/Echo", "", header, []byte("yo"), true)
	w.untaken(8)
	r := bufio.NewReader(&buf)

	kind, body, err := readFrame(r)
	if h, herr := parseHello(body); err != nil || herr != nil || kind != frameHello || h.version != directVersion || h.guest != "echo" || h.who != "ticker" || string(h.token) != "token" {
		t.Errorf("hello: %v %v %d %+v", err, herr, kind, h)
	}
	kind, body, err = readFrame(r)
	c, cerr := parseCall(body)
	if err != nil || cerr != nil || kind != frameCall || c.id != 7 || c.timeout != 1500 || c.sent != 42 || c.method != "test.Echo/Echo" || c.tparent == "" || c.header != nil || string(c.payload) != "hi" {
		t.Errorf("call without a header: %v %v %d %+v", err, cerr, kind, c)
	}
	kind, body, err = readFrame(r)
	f := frameReader{b: body}
	if id, code, payload := f.u64(), abi.Code(f.u32()), f.rest(); err != nil || kind != frameReply || id != 7 || code != abi.CodeNotFound || string(payload) != "no" {
		t.Errorf("reply: %v %d %d %d %q", err, kind, id, code, payload)
	}
	if kind, body, err := readFrame(r); err != nil || kind != frameGoaway || len(body) != 0 {
		t.Errorf("goaway: %v %d %q", err, kind, body)
	}
	kind, body, err = readFrame(r)
	c, cerr = parseCall(body)
	if err != nil || cerr != nil || kind != frameMovable || c.id != 8 || c.sent != 43 || c.method != "test.Echo/Echo" || !bytes.Equal(c.header, header) || string(c.payload) != "yo" {
		t.Errorf("movable call with a header: %v %v %d %+v", err, cerr, kind, c)
	}
	kind, body, err = readFrame(r)
	f = frameReader{b: body}
	if id := f.u64(); err != nil || kind != frameUntaken || id != 8 || f.bad || len(f.rest()) != 0 {
		t.Errorf("untaken: %v %d %d", err, kind, id)
	}
}

func TestFramesOverTheLimitOrCutShortAreRefused(t *testing.T) {
	for name, in := range map[string][]byte{
		"a frame longer than any call":     {0xff, 0xff, 0xff, 0xff, byte(frameCall)},
		"a frame of no bytes at all":       {0, 0, 0, 0},
		"a frame cut short":                {0, 0, 0, 9, byte(frameCall), 1, 2},
		"a call whose method runs past it": append(append([]byte{0, 0, 0, 1 + 24 + 2, byte(frameCall)}, make([]byte, 24)...), 0xff, 0xff),
	} {
		kind, body, err := readFrame(bufio.NewReader(bytes.NewReader(in)))
		if err == nil {
			if _, err := parseCall(body); err == nil {
				t.Errorf("%s: read as a %d frame %q", name, kind, body)
			}
		}
	}
}

// TestACallFrameWithAMalformedHeaderIsRefused: a peer's call whose header
// is cut short, or holds what no gateway sends, is a malformed call, with
// its id, so that it is answered.
func TestACallFrameWithAMalformedHeaderIsRefused(t *testing.T) {
	for name, header := range map[string][]byte{
		"a header cut inside a pair":  abi.AppendHeader(nil, "authorization", "Bearer abc")[:6],
		"an uppercase name":           abi.AppendHeader(nil, "Authorization", "x"),
		"a value with a line break":   abi.AppendHeader(nil, "x-a", "v\r\nx-b: w"),
		"a header over abi.MaxHeader": abi.AppendHeader(nil, "x-a", string(bytes.Repeat([]byte("v"), abi.MaxHeader))),
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			w := frameWriter{bufio.NewWriter(&buf)}
			// Written by hand: frameWriter.call refuses a header over the limit.
			body := binary.BigEndian.AppendUint64(nil, 9)
			body = append(body, make([]byte, 16)...)
			body = append(body, 0, 14)
			body = append(body, "test.Echo/Echo"...)
			body = append(body, 0)
			body = binary.BigEndian.AppendUint16(body, uint16(len(header)))
			body = append(body, header...)
			body = append(body, "payload"...)
			w.header(frameCall, len(body))
			w.w.Write(body)
			w.w.Flush()
			_, got, err := readFrame(bufio.NewReader(&buf))
			if err != nil {
				t.Fatal(err)
			}
			c, err := parseCall(got)
			if !errors.Is(err, errCallFrame) || c.id != 9 {
				t.Errorf("parseCall = id %d, %v; want id 9, a malformed call frame", c.id, err)
			}
		})
	}
}

// A hello says the direct protocol's version, in its first four bytes,
// which no version may change; one without (version 1's) is version 1,
// and one of a later version is read no further than its version.
func TestAHellosVersionIsReadBeforeAnythingElse(t *testing.T) {
	for _, c := range []struct {
		name    string
		version int
		body    []byte
		want    helloFields
	}{
		{name: "this version's", version: directVersion, want: helloFields{version: directVersion, guest: "echo", who: "ticker", token: []byte("token")}},
		{name: "version 1's, which says none", version: 1, want: helloFields{version: 1, guest: "echo", who: "ticker", token: []byte("token")}},
		{name: "a later version's, laid out otherwise", body: []byte{0xff, 0xff, 0, directVersion + 1, 0xde, 0xad}, want: helloFields{version: directVersion + 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := c.body
			if body == nil {
				var buf bytes.Buffer
				frameWriter{bufio.NewWriter(&buf)}.hello(c.version, "echo", "ticker", []byte("token"))
				_, body, _ = readFrame(bufio.NewReader(&buf))
			}
			h, err := parseHello(body)
			if err != nil || h.version != c.want.version || h.guest != c.want.guest || h.who != c.want.who || !bytes.Equal(h.token, c.want.token) {
				t.Errorf("parseHello = %+v, %v; want %+v", h, err, c.want)
			}
		})
	}
	// A process of version 1 read a hello as two names and a token: a
	// versioned one's first field runs past its end, malformed.
	var buf bytes.Buffer
	frameWriter{bufio.NewWriter(&buf)}.hello(directVersion, "echo", "ticker", []byte("token"))
	_, body, _ := readFrame(bufio.NewReader(&buf))
	if f := (frameReader{b: body}); f.str16() != "" || !f.bad {
		t.Error("a process of version 1 would read a versioned hello as one of its own")
	}
}

// FuzzFrames reads arbitrary bytes as frames from a direct connection and
// takes each apart as a call would be: it may refuse them, never panic.
func FuzzFrames(f *testing.F) {
	var buf bytes.Buffer
	w := frameWriter{bufio.NewWriter(&buf)}
	w.hello(directVersion, "echo", "ticker", []byte("token"))
	w.call(1, 0, 0, "test.Echo/Echo", "", nil, []byte("x"), false)
	f.Add(buf.Bytes())
	buf.Reset()
	w.call(2, 0, 0, "test.Echo/Echo", "", abi.AppendHeader(nil, "authorization", "Bearer abc"), []byte("x"), false)
	f.Add(buf.Bytes())
	buf.Reset()
	w.given([]uint64{3, 4})
	f.Add(buf.Bytes())
	f.Add([]byte{0, 0, 0, 1, 2})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		for {
			_, body, err := readFrame(r)
			if err != nil {
				return
			}
			if c, err := parseCall(body); err == nil {
				abi.HeaderValues(c.header, func(string, string) bool { return true })
			}
			(&serverConn{}).gaveUp(body) // a given frame's ids, or any body taken for one
			parseHello(body)
		}
	})
}
