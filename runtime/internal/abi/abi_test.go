package abi

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestAnEventSurvivesEncoding(t *testing.T) {
	ev := Event{Kind: KindCall, Code: CodeUnavailable, CallID: 1<<40 + 3, Deadline: 1_700_000_000_123_456_789, Method: "greeting.v1.Greeting/FetchGreeting", Payload: []byte("payload")}
	buf := make([]byte, ev.Size())
	ev.Encode(buf)
	got, err := Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != ev.Kind || got.Code != ev.Code || got.CallID != ev.CallID || got.Deadline != ev.Deadline || got.Method != ev.Method || !bytes.Equal(got.Payload, ev.Payload) {
		t.Errorf("decoded %+v, want %+v", got, ev)
	}
}

func TestACallsHeaderSurvivesEncoding(t *testing.T) {
	h := AppendHeader(nil, "authorization", "Bearer abc")
	h = AppendHeader(h, "x-request-id", "r-1")
	ev := Event{Kind: KindCall, CallID: 4, Method: "a.B/C", Payload: []byte("payload")}
	ev.SetHeader(h)
	buf := make([]byte, ev.Size())
	ev.Encode(buf)
	got, err := Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != ev.Method || !bytes.Equal(got.Payload, ev.Payload) || !bytes.Equal(got.Header(), h) || got.Kind != KindCall {
		t.Fatalf("decoded %+v, want %+v", got, ev)
	}
	var pairs []string
	HeaderValues(got.Header(), func(name, value string) bool {
		pairs = append(pairs, name+": "+value)
		return true
	})
	if want := []string{"authorization: Bearer abc", "x-request-id: r-1"}; !slices.Equal(pairs, want) {
		t.Errorf("header pairs %q, want %q", pairs, want)
	}
	// An event without a header decodes with none, into an event that had one.
	plain := Event{Kind: KindCall, CallID: 5, Method: "a.B/C"}
	buf = make([]byte, plain.Size())
	plain.Encode(buf)
	if len(buf) != HeaderSize+len(plain.Method) {
		t.Errorf("an event without a header encodes in %d bytes, want the fixed %d and its method", len(buf), HeaderSize)
	}
	if err := got.DecodeBorrowed(buf); err != nil || got.Header() != nil || got.Kind != KindCall {
		t.Errorf("an event without a header decoded as kind %v with header %q (err %v), want a call with none", got.Kind, got.Header(), err)
	}
}

func TestCheckHeaderRefusesWhatAGatewayNeverSends(t *testing.T) {
	good := AppendHeader(AppendHeader(nil, "authorization", "Bearer abc\tdef"), "x-empty", "")
	if err := CheckHeader(good); err != nil {
		t.Errorf("CheckHeader of a well-formed header: %v", err)
	}
	if err := CheckHeader(nil); err != nil {
		t.Errorf("CheckHeader of no header: %v", err)
	}
	for _, c := range []struct {
		name string
		h    []byte
	}{
		{"a pair cut in its name", good[:5]},
		{"a pair cut in its value", good[:len("authorization")+5]},
		{"an empty name", AppendHeader(nil, "", "v")},
		{"an uppercase name", AppendHeader(nil, "Authorization", "v")},
		{"a name with a space", AppendHeader(nil, "x y", "v")},
		{"a value with a line break", AppendHeader(nil, "x-a", "v\r\nx-b: w")},
		{"a value with a NUL", AppendHeader(nil, "x-a", "v\x00")},
		{"more than MaxHeader bytes", AppendHeader(nil, "x-a", strings.Repeat("v", MaxHeader))},
	} {
		t.Run(c.name+" is refused", func(t *testing.T) {
			if err := CheckHeader(c.h); !errors.Is(err, ErrBadHeader) {
				t.Errorf("CheckHeader(%q) = %v, want ErrBadHeader", c.h, err)
			}
		})
	}
}

func TestATruncatedEventIsRefused(t *testing.T) {
	ev := Event{Kind: KindReply, Method: "m", Payload: []byte("abc")}
	ev.SetHeader(AppendHeader(nil, "a", "b"))
	buf := make([]byte, ev.Size())
	ev.Encode(buf)
	for n := 0; n < len(buf); n++ {
		if _, err := Decode(buf[:n]); err == nil {
			t.Errorf("Decode of %d of %d bytes succeeded", n, len(buf))
		}
	}
}

func FuzzDecode(f *testing.F) {
	ev := Event{Kind: KindCall, CallID: 9, Method: "a.B/C", Payload: []byte{1, 2, 3}}
	buf := make([]byte, ev.Size())
	ev.Encode(buf)
	f.Add(buf)
	ev.SetHeader(AppendHeader(nil, "authorization", "Bearer t"))
	buf = make([]byte, ev.Size())
	ev.Encode(buf)
	f.Add(buf)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(b)
		// Into an event that held another, as a guest's loop decodes each
		// event into the same one: nothing of the other may remain.
		borrowed := Event{Kind: KindReply, Code: CodeInternal, CallID: 77, Deadline: 5, Method: "old.S/M", Payload: []byte("old"), Trace: TraceContext{Flags: 1}}
		borrowed.SetHeader([]byte("old"))
		berr := borrowed.DecodeBorrowed(b)
		if (err == nil) != (berr == nil) {
			t.Fatalf("DecodeBorrowed: %v; Decode: %v", berr, err)
		}
		if err == nil && (got.Method != borrowed.Method || got.CallID != borrowed.CallID || got.Kind != borrowed.Kind || got.Code != borrowed.Code ||
			got.Deadline != borrowed.Deadline || !bytes.Equal(got.Payload, borrowed.Payload) || !bytes.Equal(got.Header(), borrowed.Header()) ||
			(len(got.Header()) == 0) != (borrowed.Header() == nil) || borrowed.Trace != (TraceContext{})) {
			t.Fatalf("DecodeBorrowed = %+v; Decode = %+v", borrowed, got)
		}
		if err != nil {
			return
		}
		again := make([]byte, got.Size())
		got.Encode(again)
		if !bytes.Equal(again, b[:got.Size()]) {
			t.Errorf("re-encoding changed the event")
		}
	})
}

func TestABorrowedMethodIsTheBuffersAndACopiedOneIsNot(t *testing.T) {
	ev := Event{Kind: KindCall, CallID: 1, Method: "a.B/C", Payload: []byte{7}}
	buf := make([]byte, ev.Size())
	ev.Encode(buf)
	copied, err := Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	var borrowed Event
	if err := borrowed.DecodeBorrowed(buf); err != nil {
		t.Fatal(err)
	}
	if borrowed.Method != "a.B/C" || copied.Method != "a.B/C" {
		t.Fatalf("methods %q and %q, want a.B/C", borrowed.Method, copied.Method)
	}
	buf[HeaderSize] = 'x' // the loop's next event overwrites its buffer
	if borrowed.Method != "x.B/C" || copied.Method != "a.B/C" {
		t.Errorf("after the buffer changed: borrowed %q (want x.B/C), copied %q (want a.B/C)", borrowed.Method, copied.Method)
	}
}

// FuzzCheckHeader: a header from a peer never panics the host, and one
// CheckHeader takes is exactly the pairs HeaderValues reads from it.
func FuzzCheckHeader(f *testing.F) {
	f.Add(AppendHeader(AppendHeader(nil, "authorization", "Bearer t"), "x-request-id", "1"))
	f.Add([]byte{5, 'a'})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, h []byte) {
		if CheckHeader(h) != nil {
			HeaderValues(h, func(string, string) bool { return true })
			return
		}
		var again []byte
		HeaderValues(h, func(name, value string) bool {
			again = AppendHeader(again, name, value)
			return true
		})
		if !bytes.Equal(again, h) {
			t.Errorf("the pairs of %q encode as %q", h, again)
		}
	})
}
