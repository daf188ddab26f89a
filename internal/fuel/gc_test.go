package fuel

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/sys"
)

// gcChildEnv, when set, makes TestGarbageCollectionWithASpinningGuest run
// the scenario itself, in this process, on the instrumented guest whose path
// it holds.
const gcChildEnv = "PARIGOT_FUEL_GC_CHILD"

// The point of the package: a guest spinning in `for {}` on one goroutine
// while another forces garbage collections and a third keeps counting.
//
// With the plain guest (compiled without close-on-context-done) the first
// runtime.GC() never returns: its stop-the-world waits for the guest's
// goroutine, which is in native code and never reaches a safe point, and
// every other goroutine of the process, the test's timers included, stays
// stopped with it. That variant is not run. So that a regression fails
// instead of hanging, the scenario runs in a child process, which this test
// kills if it has not finished within a generous bound.
func TestGarbageCollectionWithASpinningGuest(t *testing.T) {
	if path := os.Getenv(gcChildEnv); path != "" {
		gcWithSpinningGuest(t, path)
		return
	}
	wasm := instrument(t, readGuest(t, ownGuests, "spin"))
	path := filepath.Join(t.TempDir(), "spin.wasm")
	if err := os.WriteFile(path, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	const bound = 3 * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestGarbageCollectionWithASpinningGuest$", "-test.v")
	cmd.Env = append(os.Environ(), gcChildEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the process froze: killed after %v\n%s", bound, out)
	}
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

// gcWithSpinningGuest is the child's side: it starts the guest, waits for
// it to spin, then forces collections until the counting goroutine has
// moved on too, and stops the guest from its yield.
func gcWithSpinningGuest(t *testing.T, path string) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		w       spinWatch
		stop    atomic.Bool
		yields  atomic.Int64
		counted atomic.Int64
		ended   = make(chan error, 1)
	)
	go func() {
		ended <- runSpin(t, wasm, &w, Budget, func() {
			yields.Add(1)
			if stop.Load() {
				panic(sys.NewExitError(3))
			}
		})
	}()
	for !w.spinning.Load() {
		select {
		case err := <-ended:
			t.Fatalf("the guest ended before spinning: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	go func() {
		for !stop.Load() {
			counted.Add(1)
			time.Sleep(time.Millisecond)
		}
	}()
	gcs := 0
	for ; gcs < 20 || counted.Load() < 10; gcs++ {
		runtime.GC()
	}
	stop.Store(true)
	err = <-ended
	var exit *sys.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("the guest ended with %v, want exit code 3 from yield", err)
	}
	t.Logf("%d collections while the guest spun; it yielded %d times; the counter reached %d",
		gcs, yields.Load(), counted.Load())
}
