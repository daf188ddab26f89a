package fuel

import (
	"bytes"
	"strings"
)

const (
	// Budget is the fuel an instrumented module starts with: the number of
	// loop headers it passes before it first calls yield. In Go's output
	// that is a call of a function that has a loop at its entry, or a jump
	// back in a loop. A host's yield normally refills Budget again. See the
	// package doc for how it was chosen.
	Budget = 10_000

	// ImportModule and ImportName name the function an instrumented module
	// imports and calls when its fuel runs out. Its type is () -> (i32): it
	// returns the fuel for the next stretch, which must be at least 1 (0
	// would mean 2^32 iterations).
	ImportModule = "parigot"
	ImportName   = "yield"

	// SectionName is the custom section that marks an instrumented module.
	// Its content is one byte, the version of the instrumentation (1).
	SectionName = "parigot.fuel"

	// sectionVersion is the content of the marker. An empty custom section
	// at the end of a module would also do, but wazero v1.12 refuses one.
	sectionVersion = 1
)

// Section ids, from the binary format's module section.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// rank is where each non-custom section must appear: sections come in
// this order, each at most once.
var rank = [...]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5,
	secTag: 6, secGlobal: 7, secExport: 8, secStart: 9, secElement: 10,
	secDataCount: 11, secCode: 12, secData: 13,
}

// maxLocals is the most locals a function may declare: wasmparser's
// limit, far above what compilers emit. A larger number is more likely an
// attempt to make a runtime allocate gigabytes, which wazero would do.
const maxLocals = 50_000

// Encodings of types.
const (
	funcForm   = 0x60 // a function type
	valI32     = 0x7f
	blockEmpty = 0x40 // the block type of a block without parameters or results
)

// Value types that fit in one byte: i32, i64, f32, f64, v128, funcref,
// externref. Anything else (the typed references of later proposals) is
// refused.
func isValType(c byte) bool {
	return c == 0x7f || c == 0x7e || c == 0x7d || c == 0x7c || c == 0x7b || isRefType(c)
}

func isRefType(c byte) bool { return c == 0x70 || c == 0x6f }

var header = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// section is one section of the input: its id and where its content is.
type section struct {
	id         byte
	start, end int // content, without id and size
	name       string
}

// module is what Instrument learns about the input before it writes the
// output.
type module struct {
	r          reader
	sections   []section
	imports    uint32 // entries of the import section
	funcImport uint32 // function imports: the new import's index
	globals    uint32 // globals, imported and defined: the fuel global's index
	types      uint32 // entries of the type section
	yieldType  uint32 // index of the type () -> (i32)
	addType    bool   // whether that type must be appended
	loopCheck  []byte // the instructions inserted after each loop
	loops      int    // how many loops were instrumented
	scratch    []byte // where expressions that are only checked are decoded
}

// Instrument returns module with an interruption check at every loop
// header: the module counts down a fuel global at each loop iteration and,
// when it reaches zero, calls the imported ImportModule.ImportName ("yield"),
// whose result is the new fuel. Because Go's wasm output enters a loop at
// the start of every function and at every backward jump, a guest cannot
// run more than the fuel's worth of iterations without calling yield, where
// the Go runtime can stop its goroutine for a garbage collection and the host
// can end it.
//
// The new import comes after every other function import, so every defined
// function's index grows by one; Instrument rewrites every place that names
// a function (calls, ref.func, elements, exports, start, the name section).
// It adds one mutable i32 global, starting at Budget, after every other, and
// the custom section SectionName; a module that already has that section is
// returned unchanged.
//
// Instrument decodes every instruction. A module it does not fully
// understand (an unknown opcode or section, a proposal it does not know, or
// a malformed module) makes it return an *Error rather than a module that
// might be wrong. The input is not modified.
func Instrument(wasm []byte) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			e, ok := p.(*Error)
			if !ok {
				panic(p)
			}
			out, err = nil, e
		}
	}()
	m := &module{r: reader{b: wasm, end: len(wasm)}}
	if !m.scan() {
		return wasm, nil
	}
	return m.write(), nil
}

// scan reads the header and the sections' layout, and the counts the
// rewrite needs. It returns false for a module that is already instrumented.
func (m *module) scan() bool {
	r := &m.r
	if !bytes.Equal(r.bytes(len(header)), header) {
		r.pos = 0
		r.fail("not a wasm module (version 1)")
	}
	last := 0
	for r.left() > 0 {
		s := section{id: r.byte()}
		size := r.u32()
		if int64(size) > int64(r.left()) {
			r.fail("section %d of %d bytes in %d", s.id, size, r.left())
		}
		s.start, s.end = r.pos, r.pos+int(size)
		if s.id == secCustom {
			r.end = s.end
			s.name = string(r.name())
			r.end = len(r.b)
			if s.name == SectionName {
				return false
			}
		} else {
			if int(s.id) >= len(rank) {
				r.pos = s.start
				r.fail("unknown section id %d", s.id)
			}
			if rank[s.id] <= last {
				r.pos = s.start
				r.fail("section %d out of order or repeated", s.id)
			}
			last = rank[s.id]
		}
		m.sections = append(m.sections, s)
		r.pos = s.end
	}
	m.addType = true // unless scanTypes finds the type
	for _, s := range m.sections {
		m.r.pos, m.r.end = s.start, s.end
		switch s.id {
		case secType:
			m.scanTypes()
		case secImport:
			m.scanImports()
		case secGlobal:
			m.globals += m.r.u32()
		}
	}
	m.r.end = len(m.r.b)
	if m.addType {
		m.yieldType = m.types
	}
	m.loopCheck = m.loopCheckCode()
	return true
}

// scanTypes counts the function types and finds () -> (i32).
func (m *module) scanTypes() {
	r := &m.r
	n := r.count()
	for i := 0; i < n; i++ {
		if c := r.byte(); c != funcForm {
			r.pos--
			r.unsupported("type %d: form %#02x is not a function type", i, c)
		}
		start := r.pos
		for range 2 { // parameters, results
			for range r.count() {
				m.valType()
			}
		}
		if m.addType && bytes.Equal(r.b[start:r.pos], []byte{0, 1, valI32}) {
			m.yieldType, m.addType = uint32(i), false
		}
	}
	m.types = uint32(n)
	m.end()
}

// end checks that a section's content was read to its end.
func (m *module) end() {
	if m.r.pos != m.r.end {
		m.r.fail("%d bytes left over", m.r.left())
	}
}

// scanImports counts the imported functions and globals.
func (m *module) scanImports() {
	r := &m.r
	n := r.count()
	m.imports = uint32(n)
	for range n {
		r.name()
		r.name()
		switch kind := r.byte(); kind {
		case 0x00: // function
			r.u32()
			m.funcImport++
		case 0x01: // table
			m.tableType()
		case 0x02: // memory
			m.limits()
		case 0x03: // global
			m.globalType()
			m.globals++
		case 0x04: // tag
			m.tag()
		default:
			r.pos--
			r.unsupported("import kind %#02x not supported", kind)
		}
	}
	m.end()
}

// tag reads a tag's type: an attribute (0, an exception) and a type index.
func (m *module) tag() {
	if m.r.byte() != 0 {
		m.r.pos--
		m.r.unsupported("tag attribute not supported")
	}
	m.r.u32()
}

func (m *module) tableType() {
	if c := m.r.byte(); !isRefType(c) {
		m.r.pos--
		m.r.unsupported("table element type %#02x not supported", c)
	}
	m.limits()
}

// limits reads a table's or memory's limits: flags (bit 0 a maximum, bit 1
// shared, bit 2 64-bit), a minimum and perhaps a maximum.
func (m *module) limits() {
	flags := m.r.byte()
	if flags > 7 {
		m.r.pos--
		m.r.unsupported("limits flags %#02x not supported", flags)
	}
	bits := 32
	if flags&4 != 0 {
		bits = 64
	}
	m.r.leb(bits, false)
	if flags&1 != 0 {
		m.r.leb(bits, false)
	}
}

func (m *module) globalType() {
	m.valType()
	if mut := m.r.byte(); mut > 1 {
		m.r.pos--
		m.r.unsupported("global mutability %#02x not supported", mut)
	}
}

// fn maps a function index of the input to the output's.
func (m *module) fn(i uint32) uint32 {
	if i >= m.funcImport {
		return i + 1
	}
	return i
}

// loopCheckCode returns the instructions inserted after each loop's block
// type:
//
//	global.get $fuel
//	i32.const 1
//	i32.sub
//	global.set $fuel
//	global.get $fuel   ;; wazero's compiler reuses the value just set
//	i32.eqz
//	if
//	  call $yield
//	  global.set $fuel
//	end
//
// Nothing is left on the stack, so the check fits any loop, whatever its
// parameters, reachable or not.
func (m *module) loopCheckCode() []byte {
	get := appendU32([]byte{opGlobalGet}, m.globals)
	set := appendU32([]byte{opGlobalSet}, m.globals)
	b := append([]byte(nil), get...)
	b = append(b, opI32Const, 1, opI32Sub)
	b = append(b, set...)
	b = append(b, get...)
	b = append(b, opI32Eqz, opIf, blockEmpty, opCall)
	b = appendU32(b, m.funcImport)
	b = append(b, set...)
	return append(b, opEnd)
}

// write returns the instrumented module.
func (m *module) write() []byte {
	out := make([]byte, 0, len(m.r.b)+len(m.r.b)/8)
	out = append(out, header...)
	// The sections the module may lack but the output needs, by rank.
	pending := []byte{secType, secImport, secGlobal}
	if !m.addType {
		pending = pending[1:]
	}
	flush := func(before int) {
		for len(pending) > 0 && rank[pending[0]] < before {
			out = append(out, pending[0])
			out = appendSized(out, m.rewrite(section{id: pending[0]}))
			pending = pending[1:]
		}
	}
	for _, s := range m.sections {
		if s.id != secCustom {
			flush(rank[s.id])
			if len(pending) > 0 && pending[0] == s.id {
				pending = pending[1:]
			}
		}
		content, keep := m.rewriteSection(s)
		if keep {
			out = append(out, s.id)
			out = appendSized(out, content)
		}
	}
	flush(len(rank) + 1)
	out = append(out, secCustom)
	return appendSized(out, append(appendName(nil, SectionName), sectionVersion))
}

// rewriteSection returns a section's new content, or false to drop it.
func (m *module) rewriteSection(s section) ([]byte, bool) {
	if s.id != secCustom {
		return m.rewrite(s), true
	}
	switch {
	case s.name == "name":
		return m.names(s), true
	case s.name == "linking" || strings.HasPrefix(s.name, "reloc."):
		m.r.pos = s.start
		m.r.unsupported("relocatable object files (custom section %q) are not supported", s.name)
	case strings.HasPrefix(s.name, ".debug_"),
		s.name == "sourceMappingURL", s.name == "external_debug_info":
		// Debug information points at code offsets, which the checks
		// move: stale, it would mislead more than help.
		return nil, false
	}
	return m.r.b[s.start:s.end], true
}

// rewrite returns the new content of a non-custom section; s.start ==
// s.end for a section the input lacks.
func (m *module) rewrite(s section) []byte {
	r := &m.r
	r.pos, r.end = s.start, s.end
	defer func() { r.end = len(r.b) }()
	var out []byte
	switch s.id {
	case secType:
		if !m.addType {
			return r.b[s.start:s.end]
		}
		out = appendU32(out, m.types+1)
		if s.end > s.start {
			r.u32()
			out = append(out, r.b[r.pos:s.end]...)
		}
		return append(out, funcForm, 0, 1, valI32)
	case secImport:
		out = appendU32(out, m.imports+1)
		if s.end > s.start {
			r.u32()
			out = append(out, r.b[r.pos:s.end]...)
		}
		out = appendName(out, ImportModule)
		out = appendName(out, ImportName)
		out = append(out, 0x00)
		return appendU32(out, m.yieldType)
	case secGlobal:
		var n int
		if s.end > s.start {
			n = r.count()
		}
		out = appendU32(out, uint32(n+1))
		for range n {
			start := r.pos
			m.globalType()
			out = append(out, r.b[start:r.pos]...)
			out = m.expr(out, nil)
		}
		m.end()
		out = append(out, valI32, 1, opI32Const) // mutable i32 = Budget
		out = appendS32(out, Budget)
		return append(out, opEnd)
	case secExport:
		return m.exports()
	case secStart:
		out = appendU32(out, m.fn(r.u32()))
		m.end()
		return out
	case secElement:
		return m.elements()
	case secCode:
		return m.code()
	}
	// The other sections name no function and need no change, but they
	// are decoded all the same, so that a malformed one is refused here.
	m.decode(s.id)
	return r.b[s.start:s.end]
}

// decode decodes a section that Instrument copies as it is.
func (m *module) decode(id byte) {
	r := &m.r
	switch id {
	case secFunction:
		for range r.count() {
			r.u32()
		}
	case secTable:
		// A table with an initial value (an expression, which could name
		// a function) is refused by tableType.
		for range r.count() {
			m.tableType()
		}
	case secMemory:
		for range r.count() {
			m.limits()
		}
	case secTag:
		for range r.count() {
			m.tag()
		}
	case secDataCount:
		r.u32()
	case secData:
		for range r.count() {
			switch flags := r.u32(); flags {
			case 0: // active, memory 0
				m.scratch = m.expr(m.scratch[:0], nil)
			case 1: // passive
			case 2: // active, explicit memory
				r.u32()
				m.scratch = m.expr(m.scratch[:0], nil)
			default:
				r.pos--
				r.unsupported("data segment flags %d not supported", flags)
			}
			r.bytes(int(min(r.u32(), 1<<31-1)))
		}
	}
	m.end()
}

func (m *module) exports() []byte {
	r := &m.r
	n := r.count()
	out := appendU32(nil, uint32(n))
	for range n {
		start := r.pos
		r.name()
		kind := r.byte()
		if kind > 0x04 { // function, table, memory, global, tag
			r.pos--
			r.unsupported("export kind %#02x not supported", kind)
		}
		out = append(out, r.b[start:r.pos]...)
		i := r.u32()
		if kind == 0x00 {
			i = m.fn(i)
		}
		out = appendU32(out, i)
	}
	m.end()
	return out
}

// elements rewrites the element section, in each of its eight encodings:
// bit 0 of the flags says passive or declarative, bit 1 an explicit table
// (if active) or declarative (if not), bit 2 expressions rather than
// function indices.
func (m *module) elements() []byte {
	r := &m.r
	n := r.count()
	out := appendU32(nil, uint32(n))
	for range n {
		start := r.pos
		flags := r.u32()
		if flags > 7 {
			r.pos = start
			r.unsupported("element segment flags %d not supported", flags)
		}
		out = appendU32(out, flags)
		if flags&3 == 2 {
			out = appendU32(out, r.u32()) // table
		}
		if flags&1 == 0 {
			out = m.expr(out, nil) // offset
		}
		if flags&3 != 0 {
			if c := r.byte(); (flags&4 == 0 && c != 0x00) || (flags&4 != 0 && !isRefType(c)) {
				r.pos--
				r.unsupported("element kind %#02x not supported", c)
			}
			out = append(out, r.b[r.pos-1])
		}
		k := r.count()
		out = appendU32(out, uint32(k))
		for range k {
			if flags&4 != 0 {
				out = m.expr(out, nil)
			} else {
				out = appendU32(out, m.fn(r.u32()))
			}
		}
	}
	m.end()
	return out
}

func (m *module) code() []byte {
	r := &m.r
	n := r.count()
	out := appendU32(make([]byte, 0, r.left()+r.left()/8), uint32(n))
	var body []byte
	for range n {
		size := r.u32()
		if int64(size) > int64(r.left()) {
			r.fail("function body of %d bytes in %d", size, r.left())
		}
		end := r.end
		r.end = r.pos + int(size)
		start := r.pos
		locals := 0
		for range r.count() {
			if locals += int(r.u32()); locals > maxLocals {
				r.unsupported("more than %d locals", maxLocals)
			}
			m.valType()
		}
		body = append(body[:0], r.b[start:r.pos]...)
		body = m.expr(body, m.loopCheck)
		if r.pos != r.end {
			r.fail("function body ends %d bytes before its size", r.left())
		}
		r.end = end
		out = appendSized(out, body)
	}
	m.end()
	return out
}
