package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxHeader is the largest encoded header a call carries: the request
// headers a gateway passes on (its gateway block's headers), 8 KiB, as
// much as common HTTP servers take for a request's whole header.
const MaxHeader = 8 << 10

// A call's header is the request headers a gateway passed on to it, in a
// compact encoding of name/value pairs, one after the other:
//
//	u8 name length | name | u16 value length (little endian) | value
//
// Names are lowercase HTTP header names (token characters), values HTTP
// field values (no control characters but tab). A header named twice
// comes as two pairs, in the order the client sent them. Only a gateway
// sets a header; every other call has none, and costs nothing for it.

// AppendHeader appends the pair name: value to the encoded header h. name
// must already be lowercase; the caller bounds the total to MaxHeader
// (CheckHeader says whether it did).
func AppendHeader(h []byte, name, value string) []byte {
	h = append(h, byte(len(name)))
	h = append(h, name...)
	h = binary.LittleEndian.AppendUint16(h, uint16(len(value)))
	return append(h, value...)
}

// HeaderPairSize is the number of bytes AppendHeader adds for name and
// value.
func HeaderPairSize(name, value string) int { return 1 + len(name) + 2 + len(value) }

// ErrBadHeader reports a call header that is not a sequence of pairs as
// AppendHeader writes them: a call from a broken or hostile peer.
var ErrBadHeader = errors.New("malformed call header")

// CheckHeader reports whether h is a well-formed header of at most
// MaxHeader bytes: what a process checks of a header it did not make.
func CheckHeader(h []byte) error {
	if len(h) > MaxHeader {
		return fmt.Errorf("%w: %d bytes, more than the %d-byte limit", ErrBadHeader, len(h), MaxHeader)
	}
	for len(h) > 0 {
		name, value, rest, ok := nextHeader(h)
		if !ok {
			return fmt.Errorf("%w: a pair runs past its end", ErrBadHeader)
		}
		if name == "" || !IsHeaderName(name) {
			return fmt.Errorf("%w: %q is not a lowercase header name", ErrBadHeader, name)
		}
		if !IsHeaderValue(value) {
			return fmt.Errorf("%w: the value of %s holds a control character", ErrBadHeader, name)
		}
		h = rest
	}
	return nil
}

// nextHeader takes the first pair off h; ok is false when h ends inside it.
func nextHeader[T string | []byte](h T) (name, value string, rest T, ok bool) {
	if len(h) < 1 {
		return "", "", rest, false
	}
	nl := int(h[0])
	if len(h) < 1+nl+2 {
		return "", "", rest, false
	}
	name = string(h[1 : 1+nl])
	vl := int(h[1+nl]) | int(h[1+nl+1])<<8
	h = h[1+nl+2:]
	if len(h) < vl {
		return "", "", rest, false
	}
	return name, string(h[:vl]), h[vl:], true
}

// HeaderValues calls f with each pair of the encoded header h, in order,
// until f returns false. It stops at the first malformed pair (a header
// the host checked has none).
func HeaderValues[T string | []byte](h T, f func(name, value string) bool) {
	for len(h) > 0 {
		name, value, rest, ok := nextHeader(h)
		if !ok || !f(name, value) {
			return
		}
		h = rest
	}
}

// IsHeaderName reports whether s is a lowercase HTTP header name: one or
// more token characters (RFC 9110, 5.6.2), no uppercase letter, at most
// 255 bytes.
func IsHeaderName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || !isTokenChar(c) {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c may be part of an HTTP token.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// IsHeaderValue reports whether s is an HTTP field value parigot carries:
// no control character but tab (so no line break), at most 65535 bytes.
func IsHeaderValue(s string) bool {
	if len(s) > 0xffff {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
