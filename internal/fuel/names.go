package fuel

// Name subsection ids (the name section of the spec's appendix and of the
// extended name section proposal).
const (
	namesModule    = 0
	namesFunctions = 1
	namesLocals    = 2
	namesLabels    = 3
	namesGlobals   = 7
	namesLastKnown = 11 // tags
)

// Names the name section gives to what Instrument adds.
const (
	yieldName = ImportModule + "." + ImportName
	fuelName  = "parigot.fuel"
)

// names rewrites the name section. Function names and local names are
// keyed by function index, so they are renumbered, and the new import is
// named yieldName; the fuel global is named too if globals are. Label names
// are dropped, since the inserted checks add labels; so are subsections of
// unknown ids, which might name functions. The rest name things whose
// indices do not change, and are copied.
func (m *module) names(s section) []byte {
	r := &m.r
	r.pos, r.end = s.start, s.end
	defer func() { r.end = len(r.b) }()
	out := appendName(nil, string(r.name()))
	sub := func(id byte, content []byte) {
		out = append(out, id)
		out = appendSized(out, content)
	}
	functions := false // whether the function names were written
	last := -1
	for r.left() > 0 {
		id := r.byte()
		if int(id) <= last {
			r.pos--
			r.fail("name subsection %d out of order or repeated", id)
		}
		last = int(id)
		size := r.u32()
		if int64(size) > int64(r.left()) {
			r.fail("name subsection of %d bytes in %d", size, r.left())
		}
		end := r.end
		r.end = r.pos + int(size)
		if id > namesFunctions && !functions {
			sub(namesFunctions, m.functionNames(false))
			functions = true
		}
		switch {
		case id == namesModule:
			// One name, and nothing after it: copied whole, a
			// subsection whose name ran past its end would take the
			// next subsection's bytes as its own.
			sub(id, m.nameBytes())
		case id == namesFunctions:
			sub(id, m.functionNames(true))
			functions = true
		case id == namesLocals:
			sub(id, m.localNames())
		case id == namesGlobals:
			sub(id, m.globalNames())
		case id == namesLabels || id > namesLastKnown:
			r.pos = r.end
		default:
			sub(id, r.bytes(r.left()))
		}
		if r.pos != r.end {
			r.fail("%d bytes left over in name subsection %d", r.left(), id)
		}
		r.end = end
	}
	if !functions {
		sub(namesFunctions, m.functionNames(false))
	}
	return out
}

// functionNames returns the function names renumbered, with the new import
// named; from says whether to read the input's names first.
func (m *module) functionNames(from bool) []byte {
	r := &m.r
	n := 0
	if from {
		n = r.count()
	}
	out := appendU32(nil, uint32(n+1))
	added := false
	for range n {
		i := r.u32()
		if i >= m.funcImport && !added {
			out = appendU32(out, m.funcImport)
			out = appendName(out, yieldName)
			added = true
		}
		out = appendU32(out, m.fn(i))
		out = append(out, m.nameBytes()...)
	}
	if !added {
		out = appendU32(out, m.funcImport)
		out = appendName(out, yieldName)
	}
	return out
}

// nameBytes reads a name and returns its encoding, length included.
func (m *module) nameBytes() []byte {
	start := m.r.pos
	m.r.name()
	return m.r.b[start:m.r.pos]
}

// localNames renumbers the functions of the local names; the locals keep
// their indices, since no local is added.
func (m *module) localNames() []byte {
	r := &m.r
	n := r.count()
	out := appendU32(nil, uint32(n))
	for range n {
		out = appendU32(out, m.fn(r.u32()))
		start := r.pos
		for range r.count() {
			r.u32()
			r.name()
		}
		out = append(out, r.b[start:r.pos]...)
	}
	return out
}

// globalNames appends the fuel global, the last one, to the global names.
func (m *module) globalNames() []byte {
	r := &m.r
	n := r.count()
	start := r.pos
	for range n {
		r.u32()
		r.name()
	}
	out := appendU32(nil, uint32(n+1))
	out = append(out, r.b[start:r.pos]...)
	out = appendU32(out, m.globals)
	return appendName(out, fuelName)
}
