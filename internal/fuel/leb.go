package fuel

import "fmt"

// Error says why Instrument refused a module: what it could not decode and
// where (a byte offset into the input). The caller runs the module as it is,
// with another way to interrupt it.
type Error struct {
	Offset int    // byte offset in the input module
	Reason string // what was wrong or not supported there
	// Unsupported: the module may be valid, but uses something Instrument
	// does not handle (an instruction of a later proposal, say); without
	// it, the module is malformed and no engine should be handed it.
	Unsupported bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("fuel: at byte %#x: %s", e.Offset, e.Reason)
}

// reader decodes the module's bytes. Decoding errors panic with *Error,
// which Instrument recovers; any other panic is a bug and is not recovered.
type reader struct {
	b   []byte // the whole module
	pos int    // the next byte to read
	end int    // the end of what may be read: the current section or body
}

func (r *reader) fail(format string, args ...any) {
	panic(&Error{Offset: r.pos, Reason: fmt.Sprintf(format, args...)})
}

// unsupported stops the decoding at something Instrument does not handle
// in a module that may be valid.
func (r *reader) unsupported(format string, args ...any) {
	panic(&Error{Offset: r.pos, Reason: fmt.Sprintf(format, args...), Unsupported: true})
}

func (r *reader) left() int { return r.end - r.pos }

func (r *reader) byte() byte {
	if r.pos >= r.end {
		r.fail("unexpected end")
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || n > r.left() {
		r.fail("%d bytes needed, %d left", n, r.left())
	}
	s := r.b[r.pos : r.pos+n]
	r.pos += n
	return s
}

// leb reads a LEB128 number of at most bits bits, signed or not, and
// refuses the encodings the wasm spec forbids: more than ceil(bits/7)
// bytes, or unused bits of the last byte that are not zero (unsigned) or
// copies of the sign bit (signed). A signed result is sign-extended into
// the uint64.
func (r *reader) leb(bits int, signed bool) uint64 {
	start := r.pos
	var v uint64
	for i := 0; ; i++ {
		c := r.byte()
		v |= uint64(c&0x7f) << (7 * i)
		last := i == (bits-1)/7
		if last {
			used := bits - 7*i // payload bits of this byte that belong to the number
			if c&0x80 != 0 {
				r.pos = start
				r.fail("LEB128 number longer than %d bits", bits)
			}
			if signed {
				extra := byte(0x7f) &^ (1<<(used-1) - 1) // the sign bit and above
				if c&extra != 0 && c&extra != extra {
					r.pos = start
					r.fail("LEB128 number does not fit in %d bits", bits)
				}
			} else if c&(0x7f&^(1<<used-1)) != 0 {
				r.pos = start
				r.fail("LEB128 number does not fit in %d bits", bits)
			}
		}
		if c&0x80 == 0 {
			if signed && i < 9 && c&0x40 != 0 {
				v |= ^uint64(0) << (7 * (i + 1))
			}
			return v
		}
	}
}

func (r *reader) u32() uint32 { return uint32(r.leb(32, false)) }

// count reads the length of a vector whose elements take at least one
// byte each, so that a corrupt length fails at once instead of looping.
func (r *reader) count() int {
	n := r.u32()
	if int64(n) > int64(r.left()) {
		r.fail("vector of %d elements in %d bytes", n, r.left())
	}
	return int(n)
}

// name reads a name (a length-prefixed string) and returns its bytes.
func (r *reader) name() []byte {
	n := r.u32()
	return r.bytes(int(min(n, 1<<31-1)))
}

func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}

// appendSized appends content prefixed with its length.
func appendSized(b, content []byte) []byte {
	return append(appendU32(b, uint32(len(content))), content...)
}
