package fuel

// The opcodes of the check.
const (
	opIf        = 0x04
	opEnd       = 0x0b
	opCall      = 0x10
	opGlobalGet = 0x23
	opGlobalSet = 0x24
	opI32Const  = 0x41
	opI32Eqz    = 0x45
	opI32Sub    = 0x6b
)

// What follows a one-byte opcode.
const (
	immUnknown  = iota // not supported: Instrument fails
	immNone            // nothing
	immBlock           // block, if: a block type
	immLoop            // loop: a block type, then the inserted check
	immEnd             // end
	immIndex           // one u32 (a label, local, global, table or memory)
	immIndex2          // two u32: call_indirect and return_call_indirect
	immBrTable         // br_table: a vector of labels and a default
	immCall            // a function index: call, return_call, ref.func
	immSelectT         // typed select: a vector of value types
	immMemarg          // loads and stores: alignment (and memory), offset
	immI32             // i32.const: s32
	immI64             // i64.const: s64
	immF32             // f32.const: 4 bytes
	immF64             // f64.const: 8 bytes
	immRefNull         // ref.null: a reference type
	immPrefixFC        // saturating truncation, bulk memory, table ops
	immPrefixFD        // SIMD
)

// opcodes gives the immediates of each one-byte opcode of the MVP and of
// the sign-extension, non-trapping conversion, multi-value, bulk memory,
// reference types, SIMD and tail call proposals. Exception handling,
// threads, typed function references and GC are refused.
var opcodes = func() (t [256]uint8) {
	set := func(kind uint8, ops ...int) {
		for _, op := range ops {
			t[op] = kind
		}
	}
	span := func(kind uint8, from, to int) {
		for op := from; op <= to; op++ {
			t[op] = kind
		}
	}
	set(immNone, 0x00, 0x01, 0x05, 0x0f, 0x1a, 0x1b, 0xd1) // unreachable nop else return drop select ref.is_null
	span(immNone, 0x45, 0xc4)                              // numeric, sign extension
	set(immBlock, 0x02, 0x04)
	set(immLoop, 0x03)
	set(immEnd, 0x0b)
	set(immIndex, 0x0c, 0x0d, 0x3f, 0x40) // br br_if memory.size memory.grow
	span(immIndex, 0x20, 0x26)            // local.get/set/tee global.get/set table.get/set
	set(immIndex2, 0x11, 0x13)
	set(immBrTable, 0x0e)
	set(immCall, 0x10, 0x12, 0xd2)
	set(immSelectT, 0x1c)
	span(immMemarg, 0x28, 0x3e)
	set(immI32, 0x41)
	set(immI64, 0x42)
	set(immF32, 0x43)
	set(immF64, 0x44)
	set(immRefNull, 0xd0)
	set(immPrefixFC, 0xfc)
	set(immPrefixFD, 0xfd)
	return t
}()

// expr copies one expression (a function body's instructions or a constant
// expression) from the reader to out, up to and including the end that
// closes it. It rewrites function indices and, if check is not nil, inserts
// check after the block type of each loop. Runs of instructions that need
// no change are copied at once.
func (m *module) expr(out, check []byte) []byte {
	r := &m.r
	from := r.pos // the first byte not yet copied
	depth := 0
	for {
		op := r.byte()
		switch opcodes[op] {
		case immNone:
		case immBlock:
			m.blockType()
			depth++
		case immLoop:
			m.blockType()
			depth++
			if check != nil {
				m.loops++
				out = append(out, r.b[from:r.pos]...)
				out = append(out, check...)
				from = r.pos
			}
		case immEnd:
			if depth == 0 {
				return append(out, r.b[from:r.pos]...)
			}
			depth--
		case immIndex:
			r.u32()
		case immIndex2:
			r.u32()
			r.u32()
		case immBrTable:
			for range r.count() {
				r.u32()
			}
			r.u32()
		case immCall:
			out = append(out, r.b[from:r.pos]...)
			out = appendU32(out, m.fn(r.u32()))
			from = r.pos
		case immSelectT:
			for range r.count() {
				m.valType()
			}
		case immMemarg:
			m.memarg()
		case immI32:
			r.leb(32, true)
		case immI64:
			r.leb(64, true)
		case immF32:
			r.bytes(4)
		case immF64:
			r.bytes(8)
		case immRefNull:
			if c := r.byte(); !isRefType(c) {
				r.pos--
				r.unsupported("reference type %#02x not supported", c)
			}
		case immPrefixFC:
			m.prefixFC()
		case immPrefixFD:
			m.prefixFD()
		default:
			r.pos--
			r.unsupported("opcode %#02x not supported", op)
		}
	}
}

func (m *module) valType() {
	if c := m.r.byte(); !isValType(c) {
		m.r.pos--
		m.r.unsupported("value type %#02x not supported", c)
	}
}

// blockType reads a block type: empty (0x40), one value type, or the
// index of a function type (a non-negative s33).
func (m *module) blockType() {
	r := &m.r
	if c := r.byte(); c == 0x40 || isValType(c) {
		return
	}
	r.pos--
	start := r.pos
	if int64(r.leb(33, true)) < 0 {
		r.pos = start
		r.unsupported("block type %#02x not supported", r.b[start])
	}
}

// memarg reads a memory access's alignment, its memory if bit 6 of the
// alignment says there is one (multiple memories), and its offset (64 bits
// for a 64-bit memory).
func (m *module) memarg() {
	if m.r.u32()&0x40 != 0 {
		m.r.u32()
	}
	m.r.leb(64, false)
}

// prefixFC reads the rest of an instruction prefixed by 0xFC.
func (m *module) prefixFC() {
	r := &m.r
	start := r.pos
	switch op := r.u32(); {
	case op <= 7: // i32/i64.trunc_sat_f32/f64_s/u
	case op == 9, op == 11, op == 13, op >= 15 && op <= 17:
		// data.drop, memory.fill, elem.drop, table.grow/size/fill
		r.u32()
	case op == 8, op == 10, op == 12, op == 14:
		// memory.init, memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	default:
		r.pos = start
		r.unsupported("opcode 0xfc %d not supported", op)
	}
}

// simdGaps are the unassigned opcodes among 0xFD 0 to 255.
var simdGaps = map[uint32]bool{
	154: true, 162: true, 165: true, 166: true, 175: true, 176: true,
	178: true, 179: true, 180: true, 187: true, 194: true, 197: true,
	198: true, 207: true, 208: true, 210: true, 211: true, 212: true,
	226: true, 238: true,
}

// prefixFD reads the rest of a SIMD instruction (0xFD); relaxed SIMD
// (256 and up) is refused.
func (m *module) prefixFD() {
	r := &m.r
	start := r.pos
	switch op := r.u32(); {
	case op > 255 || simdGaps[op]:
		r.pos = start
		r.unsupported("opcode 0xfd %d not supported", op)
	case op <= 11, op == 92, op == 93: // loads and stores
		m.memarg()
	case op == 12, op == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case op >= 21 && op <= 34: // extract_lane, replace_lane
		r.byte()
	case op >= 84 && op <= 91: // load_lane, store_lane
		m.memarg()
		r.byte()
	}
}
