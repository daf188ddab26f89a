package abi

import "testing"

func TestTraceparent(t *testing.T) {
	tc := TraceContext{Flags: 1}
	for i := range tc.TraceID {
		tc.TraceID[i] = byte(i + 1)
	}
	for i := range tc.SpanID {
		tc.SpanID[i] = byte(0xa0 + i)
	}
	const want = "00-0102030405060708090a0b0c0d0e0f10-a0a1a2a3a4a5a6a7-01"
	if got := tc.Traceparent(); got != want {
		t.Fatalf("Traceparent = %q, want %q", got, want)
	}
	if back, ok := ParseTraceparent(want); !ok || back != tc {
		t.Errorf("ParseTraceparent(%q) = %v, %v; want %v", want, back, ok, tc)
	}
	for _, bad := range []string{
		"",
		"01-0102030405060708090a0b0c0d0e0f10-a0a1a2a3a4a5a6a7-01",
		"00-00000000000000000000000000000000-a0a1a2a3a4a5a6a7-01",
		"00-0102030405060708090a0b0c0d0e0f10-0000000000000000-01",
		"00-0102030405060708090a0b0c0d0e0fzz-a0a1a2a3a4a5a6a7-01",
		"00-0102030405060708090a0b0c0d0e0f10-a0a1a2a3a4a5a6a7-01x",
		"00-0102030405060708090A0B0C0D0E0F10-a0a1a2a3a4a5a6a7-01",
		"00-0102030405060708090a0b0c0d0e0f10-a0a1a2a3a4a5a6a7-0F",
		"00-0102030405060708090a0b0c0d0e0f10-a0a1a2a3a4a5a6a7--1",
	} {
		if got, ok := ParseTraceparent(bad); ok || got != (TraceContext{}) {
			t.Errorf("ParseTraceparent(%q) = %v, %v; want it refused, with a zero TraceContext", bad, got, ok)
		}
	}
}

// FuzzParseTraceparent: a header from the network never panics the
// parser, and what it accepts round-trips.
func FuzzParseTraceparent(f *testing.F) {
	f.Add("00-0102030405060708090a0b0c0d0e0f10-a0a1a2a3a4a5a6a7-01")
	f.Fuzz(func(t *testing.T, s string) {
		tc, ok := ParseTraceparent(s)
		if !ok {
			return
		}
		if back, ok := ParseTraceparent(tc.Traceparent()); !ok || back != tc {
			t.Errorf("%q parsed to %v, which does not round-trip", s, tc)
		}
	})
}
