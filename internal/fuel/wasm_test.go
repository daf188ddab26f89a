package fuel

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// A little assembler for the hand-written test modules: each helper returns
// the binary encoding of one piece, and code is a list of bytes and byte
// slices (an opcode, then its immediates).

// Value types and opcodes the test modules use.
const (
	i32     = 0x7f
	i64     = 0x7e
	f32     = 0x7d
	f64     = 0x7c
	v128    = 0x7b
	funcref = 0x70
	empty   = blockEmpty

	opUnreachable  = 0x00
	opBlock        = 0x02
	opLoop         = 0x03
	opElse         = 0x05
	opBr           = 0x0c
	opBrIf         = 0x0d
	opBrTable      = 0x0e
	opReturn       = 0x0f
	opCallIndirect = 0x11
	opDrop         = 0x1a
	opSelect       = 0x1b
	opSelectT      = 0x1c
	opLocalGet     = 0x20
	opLocalSet     = 0x21
	opLocalTee     = 0x22
	opTableGet     = 0x25
	opTableSet     = 0x26
	opI32Load      = 0x28
	opI64Load      = 0x29
	opI32Store     = 0x36
	opI32Store8    = 0x3a
	opMemorySize   = 0x3f
	opMemoryGrow   = 0x40
	opI64Const     = 0x42
	opF32Const     = 0x43
	opF64Const     = 0x44
	opI32Add       = 0x6a
	opI32Mul       = 0x6c
	opI32WrapI64   = 0xa7
	opI32TruncF32S = 0xa8
	opI64Extend8S  = 0xc2
	opRefNull      = 0xd0
	opRefIsNull    = 0xd1
	opRefFunc      = 0xd2
	opPrefixFC     = 0xfc
	opPrefixFD     = 0xfd
)

func u32(v uint32) []byte { return appendU32(nil, v) }
func s32(v int32) []byte  { return appendS32(nil, v) }
func str(s string) []byte { return appendName(nil, s) }

// cat concatenates bytes and byte slices.
func cat(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case byte:
			b = append(b, p)
		case int:
			b = append(b, byte(p))
		case []byte:
			b = append(b, p...)
		default:
			panic("cat: unexpected part")
		}
	}
	return b
}

// vec is a vector: its length, then its items.
func vec(items ...[]byte) []byte {
	b := u32(uint32(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

// sec is a section of the given id whose content is a vector of items.
func sec(id byte, items ...[]byte) []byte { return rawSec(id, vec(items...)) }

func rawSec(id byte, content []byte) []byte {
	return append([]byte{id}, appendSized(nil, content)...)
}

func custom(name string, content ...any) []byte {
	return rawSec(secCustom, cat(str(name), cat(content...)))
}

func functype(params, results []byte) []byte {
	return cat(0x60, vec(split(params)...), vec(split(results)...))
}

func split(b []byte) [][]byte {
	var items [][]byte
	for _, c := range b {
		items = append(items, []byte{c})
	}
	return items
}

func importFunc(module, name string, typ uint32) []byte {
	return cat(str(module), str(name), 0x00, u32(typ))
}

func export(name string, kind byte, i uint32) []byte { return cat(str(name), kind, u32(i)) }

// body is a function body: its local declarations and its code, to which
// the final end is added.
func body(locals []byte, code ...any) []byte {
	var decls [][]byte
	for _, t := range locals {
		decls = append(decls, []byte{1, t})
	}
	return appendSized(nil, cat(vec(decls...), cat(code...), opEnd))
}

func wasmModule(sections ...[]byte) []byte {
	b := append([]byte(nil), header...)
	for _, s := range sections {
		b = append(b, s...)
	}
	return b
}

// yieldCounter is a host module "parigot" whose yield counts its calls and
// returns refill.
type yieldCounter struct {
	refill uint32
	calls  int
}

func (y *yieldCounter) instantiate(t testing.TB, ctx context.Context, rt wazero.Runtime) {
	t.Helper()
	_, err := rt.NewHostModuleBuilder(ImportModule).
		NewFunctionBuilder().
		WithGoFunction(api.GoFunc(func(_ context.Context, stack []uint64) {
			y.calls++
			stack[0] = uint64(y.refill)
		}), nil, []api.ValueType{api.ValueTypeI32}).
		Export(ImportName).
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
}

// newRuntime returns a compiler runtime without close-on-context-done, as
// the host will run instrumented guests, closed at the end of the test.
func newRuntime(t testing.TB) (context.Context, wazero.Runtime) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(false))
	t.Cleanup(func() { rt.Close(ctx) })
	return ctx, rt
}

func instrument(t testing.TB, wasm []byte) []byte {
	t.Helper()
	out, err := Instrument(wasm)
	if err != nil {
		t.Fatalf("Instrument: %v", err)
	}
	return out
}
