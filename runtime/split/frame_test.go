package split

import (
	"bufio"
	"bytes"
	"testing"

	"parigot.dev/parigot/runtime/internal/abi"
)

func TestFramesRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := frameWriter{bufio.NewWriter(&buf)}
	w.hello("echo", "ticker", []byte("token"))
	w.call(7, 1500, 42, "test.Echo/Echo", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", []byte("hi"), false)
	w.reply(7, abi.CodeNotFound, []byte("no"))
	w.empty(frameGoaway)
	w.call(8, 0, 43, "test.Echo/Echo", "", []byte("yo"), true)
	w.untaken(8)
	r := bufio.NewReader(&buf)

	kind, body, err := readFrame(r)
	f := frameReader{b: body}
	if guest, who, token := f.str16(), f.str16(), f.rest(); err != nil || kind != frameHello || guest != "echo" || who != "ticker" || string(token) != "token" {
		t.Errorf("hello: %v %d %q %q %q", err, kind, guest, who, token)
	}
	kind, body, err = readFrame(r)
	f = frameReader{b: body}
	id, timeout, sent, method, tp, payload := f.u64(), int64(f.u64()), int64(f.u64()), f.str16(), f.str8(), f.rest()
	if err != nil || kind != frameCall || id != 7 || timeout != 1500 || sent != 42 || method != "test.Echo/Echo" || tp == "" || string(payload) != "hi" {
		t.Errorf("call: %v %d %d %d %d %q %q %q", err, kind, id, timeout, sent, method, tp, payload)
	}
	kind, body, err = readFrame(r)
	f = frameReader{b: body}
	if id, code, payload := f.u64(), abi.Code(f.u32()), f.rest(); err != nil || kind != frameReply || id != 7 || code != abi.CodeNotFound || string(payload) != "no" {
		t.Errorf("reply: %v %d %d %d %q", err, kind, id, code, payload)
	}
	if kind, body, err := readFrame(r); err != nil || kind != frameGoaway || len(body) != 0 {
		t.Errorf("goaway: %v %d %q", err, kind, body)
	}
	kind, body, err = readFrame(r)
	f = frameReader{b: body}
	id, _, sent, method, _, payload = f.u64(), int64(f.u64()), int64(f.u64()), f.str16(), f.str8(), f.rest()
	if err != nil || kind != frameMovable || id != 8 || sent != 43 || method != "test.Echo/Echo" || string(payload) != "yo" {
		t.Errorf("movable call: %v %d %d %d %q %q", err, kind, id, sent, method, payload)
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
			f := frameReader{b: body}
			f.u64()
			f.u64()
			f.u64()
			f.str16()
			f.str8()
			if f.rest() != nil {
				t.Errorf("%s: read as a %d frame %q", name, kind, body)
			}
		}
	}
}

// FuzzFrames reads arbitrary bytes as frames from a direct connection and
// takes each apart as a call would be: it may refuse them, never panic.
func FuzzFrames(f *testing.F) {
	var buf bytes.Buffer
	w := frameWriter{bufio.NewWriter(&buf)}
	w.hello("echo", "ticker", []byte("token"))
	w.call(1, 0, 0, "test.Echo/Echo", "", []byte("x"), false)
	f.Add(buf.Bytes())
	f.Add([]byte{0, 0, 0, 1, 2})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		for {
			_, body, err := readFrame(r)
			if err != nil {
				return
			}
			c := frameReader{b: body}
			c.u64()
			c.u64()
			c.u64()
			c.str16()
			c.str8()
			c.rest()
			h := frameReader{b: body}
			h.str16()
			h.str16()
			h.rest()
		}
	})
}
