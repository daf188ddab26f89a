package abi

import (
	"bytes"
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

func TestATruncatedEventIsRefused(t *testing.T) {
	ev := Event{Kind: KindReply, Method: "m", Payload: []byte("abc")}
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
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(b)
		// Into an event that held another, as a guest's loop decodes each
		// event into the same one: nothing of the other may remain.
		borrowed := Event{Kind: KindReply, Code: CodeInternal, CallID: 77, Deadline: 5, Method: "old.S/M", Payload: []byte("old"), Trace: TraceContext{Flags: 1}}
		berr := borrowed.DecodeBorrowed(b)
		if (err == nil) != (berr == nil) {
			t.Fatalf("DecodeBorrowed: %v; Decode: %v", berr, err)
		}
		if err == nil && (got.Method != borrowed.Method || got.CallID != borrowed.CallID || got.Kind != borrowed.Kind || got.Code != borrowed.Code ||
			got.Deadline != borrowed.Deadline || !bytes.Equal(got.Payload, borrowed.Payload) || borrowed.Trace != (TraceContext{})) {
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
