package fuel

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"parigot.dev/parigot/internal/testguest"
)

func TestMain(m *testing.M) { testguest.Main(m) }

// buildOnce returns a function that builds pkgs (guest name -> package) the
// first time it is called and returns the directory of their wasm files.
func buildOnce(pkgs map[string]string) func() (string, error) {
	return sync.OnceValues(func() (string, error) {
		return testguest.Build(pkgs)
	})
}

// The guests of this package (small, wasip1 only) and the runtime's and
// examples' guests (parigot services and programs of a few MB each).
var (
	ownGuests = buildOnce(map[string]string{
		"compute": "./testdata/compute",
		"spin":    "./testdata/spin",
	})
	parigotGuests = buildOnce(map[string]string{
		"host-bench":       "../../runtime/host/testdata/guests/bench",
		"host-caller":      "../../runtime/host/testdata/guests/caller",
		"host-crash":       "../../runtime/host/testdata/guests/crash",
		"host-echo":        "../../runtime/host/testdata/guests/echo",
		"host-evil":        "../../runtime/host/testdata/guests/evil",
		"host-loader":      "../../runtime/host/testdata/guests/loader",
		"helloworld-greet": "../../examples/helloworld/greeting",
		"helloworld-hello": "../../examples/helloworld/hello",
	})
)

// guestFile returns the path of a built guest, building its set if need be.
func guestFile(t testing.TB, built func() (string, error), name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds wasm guests")
	}
	dir, err := built()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name+".wasm")
}

func readGuest(t testing.TB, built func() (string, error), name string) []byte {
	t.Helper()
	wasm, err := os.ReadFile(guestFile(t, built, name))
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

func TestParigotGuestsStillCompileOnceInstrumented(t *testing.T) {
	dir := filepath.Dir(guestFile(t, parigotGuests, "host-echo"))
	files, err := filepath.Glob(filepath.Join(dir, "*.wasm"))
	if err != nil || len(files) != 8 {
		t.Fatalf("built guests: %v, %v", files, err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".wasm"), func(t *testing.T) {
			plain, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			wasm := instrument(t, plain)
			ctx, rt := newRuntime(t)
			compiled, err := rt.CompileModule(ctx, wasm)
			if err != nil {
				t.Fatalf("compiling the instrumented guest: %v", err)
			}
			checkYieldNamed(t, compiled)
			t.Logf("%d bytes, %d instrumented", len(plain), len(wasm))
		})
	}
}

// goRun is one run of a Go wasip1 guest.
type goRun struct {
	stdout, stderr bytes.Buffer
	yield          hostYield
	err            error // from instantiation, nil if main returned or exited 0
}

// hostYield is what the yield of newGoRuntime does during one run: it
// counts its calls and refills refill.
type hostYield struct {
	refill uint32
	calls  int
}

// runGo runs a Go wasip1 guest to its end, with a yield that refills
// refill, and returns what it printed.
func runGo(t testing.TB, compiled wazero.CompiledModule, ctx context.Context, rt wazero.Runtime, refill uint32, args ...string) *goRun {
	t.Helper()
	g := &goRun{yield: hostYield{refill: refill}}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithArgs(append([]string{"guest"}, args...)...).
		WithStdout(&g.stdout).
		WithStderr(&g.stderr).
		WithSysNanotime().
		WithSysWalltime()
	ctx = context.WithValue(ctx, hostYieldKey{}, &g.yield)
	mod, err := rt.InstantiateModule(ctx, compiled, cfg)
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 0 {
		err = nil
	}
	g.err = err
	if mod != nil {
		mod.Close(ctx)
	}
	return g
}

// hostYieldKey is the context key of the *hostYield of a run.
type hostYieldKey struct{}

// newGoRuntime returns a runtime with WASI and a parigot.yield that does
// what the *hostYield in the call's context says.
func newGoRuntime(t testing.TB, cfg wazero.RuntimeConfig) (context.Context, wazero.Runtime) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	t.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	_, err := rt.NewHostModuleBuilder(ImportModule).
		NewFunctionBuilder().
		WithGoFunction(api.GoFunc(func(ctx context.Context, stack []uint64) {
			y := ctx.Value(hostYieldKey{}).(*hostYield)
			y.calls++
			stack[0] = uint64(y.refill)
		}), nil, []api.ValueType{api.ValueTypeI32}).
		Export(ImportName).
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, rt
}

func compile(t testing.TB, ctx context.Context, rt wazero.Runtime, wasm []byte) wazero.CompiledModule {
	t.Helper()
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	return compiled
}

func TestAGoGuestPrintsTheSameOnceInstrumented(t *testing.T) {
	plain := readGuest(t, ownGuests, "compute")
	ctx, rt := newGoRuntime(t, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(false))
	want := runGo(t, compile(t, ctx, rt, plain), ctx, rt, Budget)
	got := runGo(t, compile(t, ctx, rt, instrument(t, plain)), ctx, rt, Budget)
	if want.err != nil || got.err != nil {
		t.Fatalf("plain: %v, instrumented: %v\n%s%s", want.err, got.err, want.stderr.String(), got.stderr.String())
	}
	if !strings.HasPrefix(want.stdout.String(), "fib(25)=75025 ") {
		t.Fatalf("plain guest printed %q (the test guest is wrong)", want.stdout.String())
	}
	if got.stdout.String() != want.stdout.String() {
		t.Errorf("instrumented guest printed %q, plain %q", got.stdout.String(), want.stdout.String())
	}
	if got.yield.calls == 0 {
		t.Error("the instrumented guest never called yield")
	}
	t.Logf("%d yields", got.yield.calls)
}

// spinWatch is the stdout of the spin guest: it notes when the guest is in
// its endless loop.
type spinWatch struct{ spinning atomic.Bool }

func (w *spinWatch) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("spinning")) {
		w.spinning.Store(true)
	}
	return len(p), nil
}

// runSpin starts the instrumented spin guest, whose yield calls onYield
// once the guest is spinning (onYield may end it by panicking with a
// sys.ExitError) and refills refill, and returns instantiation's error.
func runSpin(t testing.TB, wasm []byte, w *spinWatch, refill uint32, onYield func()) error {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(false))
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	_, err := rt.NewHostModuleBuilder(ImportModule).
		NewFunctionBuilder().
		WithGoFunction(api.GoFunc(func(_ context.Context, stack []uint64) {
			if w.spinning.Load() {
				onYield()
			}
			stack[0] = uint64(refill)
		}), nil, []api.ValueType{api.ValueTypeI32}).
		Export(ImportName).
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStdout(w).WithStderr(os.Stderr))
	return err
}

// The plain spin guest would run forever: without close-on-context-done
// nothing can stop it. The instrumented one calls yield, which ends it.
func TestAnEndlessLoopIsStoppedFromYield(t *testing.T) {
	wasm := instrument(t, readGuest(t, ownGuests, "spin"))
	var w spinWatch
	calls := 0
	err := runSpin(t, wasm, &w, 100, func() {
		if calls++; calls == 50 {
			panic(sys.NewExitError(1))
		}
	})
	var exit *sys.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("the guest ended with %v, want exit code 1 from yield", err)
	}
	if !w.spinning.Load() || calls != 50 {
		t.Errorf("spinning: %v, %d calls to yield while spinning; want true, 50", w.spinning.Load(), calls)
	}
}
