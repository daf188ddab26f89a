package fuel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// loopModule exports run(n), a loop that runs n times, and sum(n), the sum
// of 1..n in a loop that takes and returns its accumulator on the stack (a
// block type with a parameter).
func loopModule() []byte {
	return wasmModule(
		sec(secType, functype([]byte{i32}, nil), functype([]byte{i32}, []byte{i32})),
		sec(secFunction, u32(0), u32(1)),
		sec(secExport, export("run", 0, 0), export("sum", 0, 1)),
		sec(secCode,
			body(nil, opLoop, empty,
				opLocalGet, 0, opI32Const, 1, opI32Sub, opLocalTee, 0, opBrIf, 0,
				opEnd),
			body(nil, opI32Const, 0,
				opLoop, 1, // type 1: [i32] -> [i32]
				opLocalGet, 0, opI32Add,
				opLocalGet, 0, opI32Const, 1, opI32Sub, opLocalTee, 0, opBrIf, 0,
				opEnd),
		),
	)
}

func TestALoopCallsYieldOncePerBudgetOfIterations(t *testing.T) {
	wasm := instrument(t, loopModule())
	for _, tc := range []struct {
		n, refill uint32
		want      int
	}{
		{n: 1, refill: Budget, want: 0},
		{n: Budget - 1, refill: Budget, want: 0},
		{n: Budget, refill: Budget, want: 1},
		{n: 10*Budget + 5, refill: Budget, want: 10},
		{n: Budget + 100, refill: 7, want: 1 + 100/7},
	} {
		t.Run(fmt.Sprintf("%d iterations, refilled with %d", tc.n, tc.refill), func(t *testing.T) {
			ctx, rt := newRuntime(t)
			y := &yieldCounter{refill: tc.refill}
			y.instantiate(t, ctx, rt)
			mod, err := rt.Instantiate(ctx, wasm)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := mod.ExportedFunction("run").Call(ctx, uint64(tc.n)); err != nil {
				t.Fatal(err)
			}
			if y.calls != tc.want {
				t.Errorf("yield called %d times, want %d", y.calls, tc.want)
			}
		})
	}
}

func TestALoopWithParametersStillComputesTheSameResult(t *testing.T) {
	ctx, rt := newRuntime(t)
	y := &yieldCounter{refill: 3}
	y.instantiate(t, ctx, rt)
	mod, err := rt.Instantiate(ctx, instrument(t, loopModule()))
	if err != nil {
		t.Fatal(err)
	}
	const n = 2 * Budget
	res, err := mod.ExportedFunction("sum").Call(ctx, n)
	if err != nil || len(res) != 1 {
		t.Fatalf("sum(%d) = %v, %v", n, res, err)
	}
	if got, want := uint32(res[0]), uint32(n*(n+1)/2); got != want {
		t.Errorf("sum(%d) = %d, want %d", n, got, want)
	}
	if y.calls == 0 {
		t.Error("yield was never called")
	}
}

// hostEnv instantiates the host module "env" the test modules import:
// add1(x) = x+1, and mark(), which counts its calls.
func hostEnv(t *testing.T, ctx context.Context, rt wazero.Runtime) *int {
	t.Helper()
	marks := new(int)
	_, err := rt.NewHostModuleBuilder("env").
		NewFunctionBuilder().
		WithGoFunction(api.GoFunc(func(_ context.Context, stack []uint64) { stack[0] = uint64(uint32(stack[0]) + 1) }),
			[]api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}).
		Export("add1").
		NewFunctionBuilder().
		WithGoFunction(api.GoFunc(func(context.Context, []uint64) { *marks++ }), nil, nil).
		Export("mark").
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return marks
}

// newHost returns a runtime with the host modules env and parigot (whose
// yield refills 1), and the count of env.mark's calls.
func newHost(t *testing.T) (context.Context, wazero.Runtime, *int) {
	t.Helper()
	ctx, rt := newRuntime(t)
	marks := hostEnv(t, ctx, rt)
	(&yieldCounter{refill: 1}).instantiate(t, ctx, rt)
	return ctx, rt, marks
}

// run instantiates wasm and calls each export in order, without arguments,
// returning their results.
func run(t *testing.T, wasm []byte, exports ...string) []uint32 {
	t.Helper()
	ctx, rt, _ := newHost(t)
	mod, err := rt.Instantiate(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint32
	for _, name := range exports {
		res, err := mod.ExportedFunction(name).Call(ctx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(res) > 0 {
			got = append(got, uint32(res[0]))
		}
	}
	return got
}

// elementModule reaches functions through a table filled by an element
// segment of the given encoding (flags 0-7), through a funcref global, by
// a direct call and by export. It imports env.add1 (function 0), so its own
// functions are the ones renumbered.
func elementModule(flags uint32) []byte {
	offset := cat(opI32Const, 0, opEnd)
	funcs := vec(u32(1), u32(0))
	exprs := vec(cat(opRefFunc, 1, opEnd), cat(opRefFunc, 0, opEnd))
	segment := [8][]byte{
		cat(u32(0), offset, funcs),
		cat(u32(1), 0x00, funcs),
		cat(u32(2), u32(0), offset, 0x00, funcs),
		cat(u32(3), 0x00, funcs),
		cat(u32(4), offset, exprs),
		cat(u32(5), funcref, exprs),
		cat(u32(6), u32(0), offset, funcref, exprs),
		cat(u32(7), funcref, exprs),
	}[flags]
	var setup []byte
	switch flags {
	case 1, 5: // passive: copy the segment into the table, then drop it
		setup = body(nil, opI32Const, 0, opI32Const, 0, opI32Const, 2, opPrefixFC, 12, 0, 0, opPrefixFC, 13, 0)
	case 3, 7: // declarative: the segment only allows ref.func
		setup = body(nil, opI32Const, 0, opRefFunc, 1, opTableSet, 0, opI32Const, 1, opRefFunc, 0, opTableSet, 0)
	default: // active: the table is filled at instantiation
		setup = body(nil)
	}
	return wasmModule(
		sec(secType,
			functype([]byte{i32}, []byte{i32}), // 0
			functype(nil, []byte{i32}),         // 1
			functype(nil, nil)),                // 2
		sec(secImport, importFunc("env", "add1", 0)),
		sec(secFunction, u32(0), u32(1), u32(1), u32(1), u32(2), u32(1)),
		sec(secTable, cat(funcref, 0x00, 3)),
		sec(secGlobal, cat(funcref, 0x00, opRefFunc, 1, opEnd)),
		sec(secExport,
			export("target", 0, 1), export("slot0", 0, 2), export("slot1", 0, 3),
			export("direct", 0, 4), export("setup", 0, 5), export("viaGlobal", 0, 6)),
		sec(secElement, segment),
		sec(secCode,
			body(nil, opLoop, empty, opEnd, opLocalGet, 0, opI32Const, s32(100), opI32Add), // target(x) = x+100
			body(nil, opI32Const, 41, opI32Const, 0, opCallIndirect, 0, 0),                 // table[0](41)
			body(nil, opI32Const, 41, opI32Const, 1, opCallIndirect, 0, 0),                 // table[1](41)
			body(nil, opLoop, empty, opEnd, opI32Const, 1, opCall, 1),                      // target(1)
			setup, // fills the table if need be
			body(nil, opI32Const, 2, opGlobalGet, 0, opTableSet, 0, opI32Const, 7, opI32Const, 2, opCallIndirect, 0, 0), // global(7)
		),
	)
}

func TestFunctionsAreReachedTheSameWayAfterInstrumenting(t *testing.T) {
	exports := []string{"setup", "slot0", "slot1", "direct", "viaGlobal"}
	want := []uint32{141, 42, 101, 107}
	for flags := range uint32(8) {
		t.Run(fmt.Sprintf("element segment flags %d", flags), func(t *testing.T) {
			plain := elementModule(flags)
			if got := run(t, plain, exports...); !slices.Equal(got, want) {
				t.Fatalf("plain module: got %v, want %v (the test module is wrong)", got, want)
			}
			if got := run(t, instrument(t, plain), exports...); !slices.Equal(got, want) {
				t.Errorf("instrumented: got %v, want %v", got, want)
			}
		})
	}
}

// startModule's start function calls env.mark.
func startModule() []byte {
	return wasmModule(
		sec(secType, functype(nil, nil)),
		sec(secImport, importFunc("env", "mark", 0)),
		sec(secFunction, u32(0)),
		rawSec(secStart, u32(1)),
		sec(secCode, body(nil, opLoop, empty, opEnd, opCall, 0)),
	)
}

func TestTheStartFunctionStillRuns(t *testing.T) {
	ctx, rt, marks := newHost(t)
	if _, err := rt.Instantiate(ctx, instrument(t, startModule())); err != nil {
		t.Fatal(err)
	}
	if *marks != 1 {
		t.Errorf("the start function called mark %d times, want 1", *marks)
	}
}

// sinkModule's sink() uses an instruction of each kind of immediate: memory
// and table instructions, bulk memory, saturating truncation, sign
// extension, constants of every type, br_table, if/else, both selects, SIMD,
// and calls.
func sinkModule() []byte {
	simd := func(op uint32, imm ...any) []byte { return cat(opPrefixFD, u32(op), cat(imm...)) }
	fc := func(op uint32, imm ...any) []byte { return cat(opPrefixFC, u32(op), cat(imm...)) }
	i32x4 := func(a, b, c, d uint32) []byte {
		v := cat(opPrefixFD, u32(12))
		for _, x := range []uint32{a, b, c, d} {
			v = append(v, byte(x), byte(x>>8), byte(x>>16), byte(x>>24))
		}
		return v
	}
	lanes := make([]byte, 16)
	for i := range lanes {
		lanes[i] = byte(16 + i)
	}
	add := cat(opI32Add, opLocalSet, 0)
	acc := cat(opLocalGet, 0)
	sink := body([]byte{i32, i32},
		// bulk memory: "hello" to 16, copied to 32; 7s at 40..43
		opI32Const, 16, opI32Const, 0, opI32Const, 5, fc(8, 0, 0), fc(9, 0),
		opI32Const, 32, opI32Const, 16, opI32Const, 5, fc(10, 0, 0),
		opI32Const, 40, opI32Const, 7, opI32Const, 4, fc(11, 0),
		opI32Const, 32, opI32Load, 2, 0, opLocalSet, 0,
		opI32Const, 40, opI32Const, s32(0x55), opI32Store8, 0, 8,
		acc, opI32Const, 40, opI32Load, 2, 8, add,
		acc, opI32Const, 40, opI64Load, 3, 0, opI32WrapI64, add,
		acc, opMemorySize, 0, opI32Add, opI32Const, 0, opMemoryGrow, 0, add,
		// tables
		acc, opRefNull, funcref, opI32Const, 2, fc(15, 0), opI32Add, fc(16, 0), add,
		opI32Const, 0, opRefFunc, 1, opI32Const, 1, fc(17, 0),
		opI32Const, 1, opI32Const, 0, opI32Const, 1, fc(14, 0, 0),
		acc, opI32Const, 1, opTableGet, 0, opRefIsNull, add,
		acc, opI32Const, 2, opTableGet, 0, opRefIsNull, add,
		// numbers
		acc, opF32Const, 0x00, 0x00, 0x70, 0x40, fc(0), add, // trunc_sat(3.75)
		acc, opF64Const, 0, 0, 0, 0, 0, 0, 0, 0x40, 0xaa, add, // trunc(2.0)
		acc, opI64Const, 0x80, 0x01, opI64Extend8S, opI32WrapI64, add,
		// control
		opBlock, empty, opBlock, empty, opI32Const, 1, opBrTable, vec(u32(0), u32(1)), 1, opEnd,
		acc, opI32Const, s32(1000), add, opEnd,
		acc, opI32Const, 1, opIf, i32, opI32Const, 10, opElse, opI32Const, 20, opEnd, opI32Add,
		opI32Const, 5, opI32Const, 6, opI32Const, 0, opSelect, opI32Add,
		opI32Const, 7, opI32Const, 8, opI32Const, 1, opSelectT, vec([]byte{i32}), add,
		opI32Const, 3, opLocalSet, 1,
		opLoop, empty, acc, opI32Const, 2, add,
		opLocalGet, 1, opI32Const, 1, opI32Sub, opLocalTee, 1, opBrIf, 0, opEnd,
		// SIMD
		acc, i32x4(1, 2, 3, 4), i32x4(10, 20, 30, 40), simd(174), simd(27, 2), add,
		opI32Const, s32(64), i32x4(5, 6, 7, 8), simd(11, 4, 0),
		acc, opI32Const, s32(64), simd(0, 4, 0), simd(27, 3), add,
		acc, i32x4(1, 2, 3, 4), i32x4(9, 8, 7, 6), simd(13, lanes), simd(27, 0), add,
		acc, opI32Const, s32(64), i32x4(0, 0, 0, 0), simd(86, 2, 0, 1), simd(27, 1), add,
		// calls
		acc, opCall, 2, opCall, 0,
	)
	return wasmModule(
		sec(secType, functype(nil, []byte{i32}), functype([]byte{i32}, []byte{i32})),
		sec(secImport, importFunc("env", "add1", 1)),
		sec(secFunction, u32(0), u32(1)),
		sec(secTable, cat(funcref, 0x00, 1)),
		sec(secMemory, cat(0x00, 1)),
		sec(secExport, export("sink", 0, 1)),
		sec(secElement, cat(u32(3), 0x00, vec(u32(1)))),
		rawSec(secDataCount, u32(1)),
		sec(secCode, sink, body(nil, opLocalGet, 0, opLocalGet, 0, opI32Add)),
		sec(secData, cat(u32(1), str("hello"))),
	)
}

func TestEveryKindOfImmediateIsCopiedFaithfully(t *testing.T) {
	plain := sinkModule()
	want := run(t, plain, "sink")
	if got := run(t, instrument(t, plain), "sink"); !slices.Equal(got, want) {
		t.Errorf("instrumented sink() = %v, plain %v", got, want)
	}
}

// namedModule has a name section: module "m", functions "imported" (env.add1),
// "first" (whose parameter is named "x") and "second", which traps; label
// names and (empty) global names.
func namedModule(nameSubsections ...[]byte) []byte {
	return wasmModule(
		sec(secType, functype([]byte{i32}, []byte{i32}), functype(nil, nil)),
		sec(secImport, importFunc("env", "add1", 0)),
		sec(secFunction, u32(0), u32(1)),
		sec(secExport, export("first", 0, 1)),
		sec(secCode,
			body(nil, opLoop, empty, opEnd, opCall, 2, opLocalGet, 0),
			body(nil, opLoop, empty, opEnd, opUnreachable)),
		custom("name", bytes.Join(nameSubsections, nil)),
	)
}

func nameSub(id byte, content ...any) []byte {
	return cat(id, appendSized(nil, cat(content...)))
}

func TestTheNameSectionNamesTheSameFunctions(t *testing.T) {
	wasm := instrument(t, namedModule(
		nameSub(namesModule, str("m")),
		nameSub(namesFunctions, vec(cat(u32(0), str("imported")), cat(u32(1), str("first")), cat(u32(2), str("second")))),
		nameSub(namesLocals, vec(cat(u32(1), vec(cat(u32(0), str("x")))))),
		nameSub(namesLabels, vec(cat(u32(1), vec(cat(u32(0), str("top")))))),
		nameSub(namesGlobals, vec()),
	))

	ctx, rt, _ := newHost(t)
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a trap's stack trace names the functions", func(t *testing.T) {
		mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig())
		if err != nil {
			t.Fatal(err)
		}
		_, err = mod.ExportedFunction("first").Call(ctx, 1)
		if err == nil {
			t.Fatal("no trap")
		}
		msg := err.Error()
		second, first := strings.Index(msg, "m.second()"), strings.Index(msg, "m.first(i32)")
		if second < 0 || first < second {
			t.Errorf("want m.second() then m.first(i32) in the trace, got:\n%s", msg)
		}
	})
	t.Run("parameters keep their names", func(t *testing.T) {
		if got := compiled.ExportedFunctions()["first"].ParamNames(); !slices.Equal(got, []string{"x"}) {
			t.Errorf("first's parameter names: %q, want [x]", got)
		}
	})
	t.Run("the new import is named", func(t *testing.T) {
		checkYieldNamed(t, compiled)
	})
	t.Run("label names are dropped and the fuel global is named", func(t *testing.T) {
		subs := nameSubsections(t, wasm)
		if ids := slices.Sorted(mapKeys(subs)); !slices.Equal(ids, []byte{namesModule, namesFunctions, namesLocals, namesGlobals}) {
			t.Errorf("name subsections %v, want [0 1 2 7]", ids)
		}
		if want := vec(cat(u32(0), str(fuelName))); !bytes.Equal(subs[namesGlobals], want) {
			t.Errorf("global names % x, want % x", subs[namesGlobals], want)
		}
	})
}

func TestTheNewImportIsNamedEvenWithoutFunctionNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		subs [][]byte
	}{
		{"only a module name", [][]byte{nameSub(namesModule, str("m"))}},
		{"only local names", [][]byte{nameSub(namesLocals, vec())}},
		{"an empty name section", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, rt := newRuntime(t)
			compiled, err := rt.CompileModule(ctx, instrument(t, namedModule(tc.subs...)))
			if err != nil {
				t.Fatal(err)
			}
			checkYieldNamed(t, compiled)
		})
	}
}

func checkYieldNamed(t *testing.T, compiled wazero.CompiledModule) {
	t.Helper()
	for _, f := range compiled.ImportedFunctions() {
		if m, n, _ := f.Import(); m == ImportModule && n == ImportName {
			if f.Name() != yieldName {
				t.Errorf("the yield import is named %q, want %q", f.Name(), yieldName)
			}
			return
		}
	}
	t.Error("no yield import")
}

// nameSubsections returns the subsections of wasm's name section, by id.
func nameSubsections(t *testing.T, wasm []byte) map[byte][]byte {
	t.Helper()
	content := customSection(t, wasm, "name")
	r := &reader{b: content, end: len(content)}
	subs := map[byte][]byte{}
	for r.left() > 0 {
		id := r.byte()
		subs[id] = r.bytes(int(r.u32()))
	}
	return subs
}

// customSection returns the content (after the name) of wasm's custom
// section called name.
func customSection(t *testing.T, wasm []byte, name string) []byte {
	t.Helper()
	r := &reader{b: wasm, pos: len(header), end: len(wasm)}
	for r.left() > 0 {
		id := r.byte()
		content := r.bytes(int(r.u32()))
		if id != secCustom {
			continue
		}
		cr := &reader{b: content, end: len(content)}
		if string(cr.name()) == name {
			return content[cr.pos:]
		}
	}
	t.Fatalf("no custom section %q", name)
	return nil
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestAnInstrumentedModuleIsReturnedUnchanged(t *testing.T) {
	plain := loopModule()
	saved := slices.Clone(plain)
	once := instrument(t, plain)
	if !bytes.Equal(plain, saved) {
		t.Error("Instrument modified its input")
	}
	if !bytes.Contains(once, []byte(SectionName)) {
		t.Errorf("no %s section", SectionName)
	}
	twice := instrument(t, once)
	if !bytes.Equal(once, twice) {
		t.Error("instrumenting twice changed the module")
	}
}

func TestModulesLackingSectionsGetThemInOrder(t *testing.T) {
	for name, wasm := range map[string][]byte{
		"an empty module":            wasmModule(),
		"only a memory":              wasmModule(sec(secMemory, cat(0x00, 1))),
		"a function but no imports":  loopModule(),
		"globals but no types":       wasmModule(sec(secGlobal, cat(i32, 0x00, opI32Const, 5, opEnd)), sec(secExport, export("g", 3, 0))),
		"a type, then custom things": wasmModule(custom("a"), sec(secType, functype(nil, nil)), custom("b"), sec(secExport)),
	} {
		t.Run(name, func(t *testing.T) {
			ctx, rt := newRuntime(t)
			compiled, err := rt.CompileModule(ctx, instrument(t, wasm))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(compiled.ImportedFunctions()); got != 1 {
				t.Errorf("%d imported functions, want 1", got)
			}
		})
	}
}

func TestDebugSectionsAreDroppedAndOthersKept(t *testing.T) {
	wasm := instrument(t, wasmModule(custom(".debug_info", 1, 2, 3), custom("producers", 4, 5), custom("sourceMappingURL", str("x"))))
	if bytes.Contains(wasm, []byte(".debug_info")) || bytes.Contains(wasm, []byte("sourceMappingURL")) {
		t.Error("debug information kept; its code offsets are stale")
	}
	if got := customSection(t, wasm, "producers"); !bytes.Equal(got, []byte{4, 5}) {
		t.Errorf("producers section % x, want 04 05", got)
	}
}

func TestWhatIsNotUnderstoodIsRefused(t *testing.T) {
	code := func(instrs ...any) []byte {
		return wasmModule(
			sec(secType, functype(nil, nil)),
			sec(secFunction, u32(0)),
			sec(secCode, body(nil, instrs...)),
		)
	}
	valid := loopModule()
	for _, tc := range []struct {
		name string
		wasm []byte
	}{
		{"not wasm", []byte("#!/bin/sh\n")},
		{"a component", []byte{0, 'a', 's', 'm', 0x0d, 0x00, 0x01, 0x00}},
		{"a truncated module", valid[:len(valid)-3]},
		{"a section longer than the module", append(slices.Clone(header), secType, 100, 0)},
		{"an unknown section", wasmModule(rawSec(14, nil))},
		{"sections out of order", wasmModule(sec(secFunction), sec(secType))},
		{"a repeated section", wasmModule(sec(secType), sec(secType))},
		{"a GC struct type", wasmModule(sec(secType, cat(0x5f, vec())))},
		{"a relocatable object file", wasmModule(custom("linking", 2))},
		{"an atomic instruction", code(0xfe, 0x03, 0x00)},
		{"exception handling", code(0x06, empty, opEnd)},
		{"typed function references", code(opRefFunc, 0, 0xd4, opDrop)},
		{"relaxed SIMD", code(opPrefixFD, u32(0x100))},
		{"an unassigned SIMD opcode", code(opPrefixFD, u32(154))},
		{"an unknown 0xFC opcode", code(opPrefixFC, u32(18), 0)},
		{"a GC block type", code(opBlock, 0x63, 0x70, opEnd)},
		{"an over-long LEB128 index", code(opBr, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00)},
		{"a body without its end", wasmModule(sec(secType, functype(nil, nil)), sec(secFunction, u32(0)), sec(secCode, cat(1, 0)))},
		{"a body with bytes after its end", wasmModule(sec(secType, functype(nil, nil)), sec(secFunction, u32(0)), sec(secCode, cat(3, 0, opEnd, opEnd)))},
		{"a table with an initial value", wasmModule(sec(secTable, cat(0x40, 0x00, funcref, 0x00, 1, opRefNull, funcref, opEnd)))},
		{"a data section claiming 2^31 segments", wasmModule(rawSec(secData, cat(0xff, 0xff, 0xff, 0xff, 0x07, 0x01, 0x00)))},
		{"a function with 2^32-1 locals", wasmModule(sec(secType, functype(nil, nil)), sec(secFunction, u32(0)),
			sec(secCode, appendSized(nil, cat(vec(cat(u32(math.MaxUint32), i32)), opEnd))))},
		{"a module name running past its subsection", namedModule(nameSub(namesModule, cat(u32(5), []byte("ab"))), nameSub(namesFunctions, vec()))},
		{"a module name with bytes after it", namedModule(nameSub(namesModule, cat(u32(1), []byte("ab"))))},
		{"unordered name subsections", namedModule(nameSub(namesLocals, vec()), nameSub(namesFunctions, vec()))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Instrument(tc.wasm)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Instrument returned %d bytes and error %v, want an *Error", len(out), err)
			}
			if e.Offset < 0 || e.Offset > len(tc.wasm) {
				t.Errorf("error offset %d outside the module's %d bytes", e.Offset, len(tc.wasm))
			}
			t.Log(err)
		})
	}
}
