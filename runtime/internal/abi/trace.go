package abi

import (
	"encoding/hex"
)

// TraceContext identifies a span of a trace, as W3C Trace Context does: what
// a call carries from its caller's span to its callee's, in memory and, as
// a traceparent header, across NATS. Zero when tracing is off.
type TraceContext struct {
	TraceID [16]byte
	SpanID  [8]byte
	Flags   byte // W3C trace-flags: 1 is "sampled"
}

// TraceparentHeader is the header that carries a TraceContext across NATS,
// as W3C Trace Context names it: on a call, the span it was made on behalf
// of; on a topic's message, the span that published it. The host sets it,
// never a guest, and reads it with ParseTraceparent.
const TraceparentHeader = "traceparent"

// Valid reports whether t names a span: a zero trace or span id does not.
func (t TraceContext) Valid() bool {
	return t.TraceID != [16]byte{} && t.SpanID != [8]byte{}
}

// Traceparent is t as a W3C traceparent header value,
// "00-<trace id>-<span id>-<flags>".
func (t TraceContext) Traceparent() string {
	var b [55]byte
	copy(b[:], "00-")
	hex.Encode(b[3:35], t.TraceID[:])
	b[35] = '-'
	hex.Encode(b[36:52], t.SpanID[:])
	b[52] = '-'
	hex.Encode(b[53:55], []byte{t.Flags})
	return string(b[:])
}

// ParseTraceparent reads a W3C traceparent header value of version 00; ok
// is false, and t zero, for anything else: another length or version,
// other characters than lowercase hex digits (the only ones the
// specification allows), or a zero trace or span id. The header comes from
// the network: it is checked, never trusted.
func ParseTraceparent(s string) (t TraceContext, ok bool) {
	if len(s) != 55 || s[:3] != "00-" || s[35] != '-' || s[52] != '-' {
		return TraceContext{}, false
	}
	var flags [1]byte
	if !lowerHex(t.TraceID[:], s[3:35]) || !lowerHex(t.SpanID[:], s[36:52]) || !lowerHex(flags[:], s[53:55]) || !t.Valid() {
		return TraceContext{}, false
	}
	t.Flags = flags[0]
	return t, true
}

// lowerHex decodes s, lowercase hex digits, into dst, len(s)/2 bytes long.
func lowerHex(dst []byte, s string) bool {
	for i := range dst {
		hi, ok1 := lowerHexDigit(s[2*i])
		lo, ok2 := lowerHexDigit(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func lowerHexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
