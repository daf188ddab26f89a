package fuel

import (
	"context"
	"errors"
	"testing"

	"github.com/tetratelabs/wazero"
)

// FuzzInstrument checks that Instrument never panics, fails only with an
// *Error, and turns every module that wazero accepts into one it accepts
// too. The seed corpus in testdata/fuzz/FuzzInstrument holds the
// hand-assembled test modules and two that wazero v1.12 mishandles: one it
// panics on (a function whose type index does not exist; a panic while
// compiling the input counts as refusing it, never one while compiling the
// output), and one claiming 2^31 data segments in 16 bytes, for which it
// allocates 14 GB (Instrument refuses it first).
//
//	go test ./internal/fuel -run '^$' -fuzz FuzzInstrument -fuzztime 5m -parallel 1
func FuzzInstrument(f *testing.F) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(false))
	f.Cleanup(func() { rt.Close(ctx) })
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, err := Instrument(wasm)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if !accepts(ctx, rt, wasm) {
			return // not a module: nothing is promised
		}
		compiled, err := rt.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("a valid module became invalid: %v", err)
		}
		compiled.Close(ctx)
	})
}

// accepts says whether rt compiles wasm, counting a panic as a no.
func accepts(ctx context.Context, rt wazero.Runtime, wasm []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return false
	}
	compiled.Close(ctx)
	return true
}
