package host

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"parigot.dev/parigot/internal/testguest"
	"parigot.dev/parigot/runtime/internal/lines"
)

// reloadWasm builds the guests of the reload tests once per test binary.
var reloadWasm = sync.OnceValues(func() (string, error) {
	return testguest.Build(map[string]string{
		"version1": "./testdata/guests/version1",
		"version2": "./testdata/guests/version2",
		"nostart":  "./testdata/guests/nostart",
		"noready":  "./testdata/guests/noready",
		"counter":  "./testdata/guests/counter",
		"hammer":   "./testdata/guests/hammer",
	})
})

// devApp is a run that takes reloads, and what it has printed so far.
type devApp struct {
	t       *testing.T
	reloads chan Reload
	out     *lines.Buffer
	cancel  context.CancelFunc
	ended   chan error
}

// startDevApp runs version1, counter and hammer with Config.Reloads set.
func startDevApp(t *testing.T) *devApp {
	t.Helper()
	return startDevAppReadyWithin(t, 0)
}

// startDevAppReadyWithin is startDevApp with the run's ReadyTimeout (0:
// the default).
func startDevAppReadyWithin(t *testing.T, readyTimeout time.Duration) *devApp {
	t.Helper()
	if testing.Short() {
		t.Skip("builds wasm guests")
	}
	dir, err := reloadWasm()
	if err != nil {
		t.Fatal(err)
	}
	guests := []*GuestSpec{
		{Name: "version", Kind: Service, Wasm: filepath.Join(dir, "version1.wasm"), Implements: []string{"test.Version"}, MethodTimeout: time.Second},
		{Name: "counter", Kind: Service, Wasm: filepath.Join(dir, "counter.wasm"), Implements: []string{"test.Counter"}, MethodTimeout: time.Second},
		{Name: "hammer", Kind: Program, Wasm: filepath.Join(dir, "hammer.wasm"), Requires: []string{"version", "counter"}},
	}
	ctx, cancel := context.WithCancel(t.Context())
	a := &devApp{t: t, reloads: make(chan Reload), out: &lines.Buffer{}, cancel: cancel, ended: make(chan error, 1)}
	go func() {
		_, err := Run(ctx, Config{Guests: guests, Stdout: a.out, Stderr: a.out, Reloads: a.reloads, ReadyTimeout: readyTimeout})
		a.ended <- err
	}()
	t.Cleanup(func() {
		cancel()
		<-a.ended
	})
	return a
}

// reload sends rl and returns its outcome.
func (a *devApp) reload(wasm map[string]string) error {
	done := make(chan error, 1)
	select {
	case a.reloads <- Reload{Wasm: wasm, Done: done}:
	case err := <-a.ended:
		a.t.Fatalf("the run ended before the reload: %v\noutput:\n%s", err, a.out)
	}
	return <-done
}

// waitFor waits until the output holds line, failing the test after
// patience.
func (a *devApp) waitFor(line string) {
	a.t.Helper()
	for deadline := time.Now().Add(patience); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		for _, l := range strings.Split(a.out.String(), "\n") {
			if strings.TrimSpace(l) == line {
				return
			}
		}
	}
	a.t.Fatalf("no line %q; output:\n%s", line, a.out)
}

func TestAReloadSwapsOneServiceWhileTheOthersKeepTheirState(t *testing.T) {
	a := startDevApp(t)
	a.waitFor("hammer  | v1 count 1")
	a.waitFor("hammer  | 100 answers")
	dir, _ := reloadWasm()
	// The program runs on, 8 calls in flight, while version is swapped
	// under it: it sees the new version, and no call fails.
	if err := a.reload(map[string]string{"version": filepath.Join(dir, "version2.wasm")}); err != nil {
		t.Fatalf("reload: %v\noutput:\n%s", err, a.out)
	}
	a.waitFor("hammer  | now v2")
	// A changed program starts again; counter kept its count through it all.
	if err := a.reload(map[string]string{"hammer": filepath.Join(dir, "hammer.wasm")}); err != nil {
		t.Fatalf("reload of the program: %v", err)
	}
	a.waitFor("hammer  | v2 count 2")
	if strings.Contains(a.out.String(), "failed") {
		t.Errorf("a call failed across the swaps; output:\n%s", a.out)
	}
	a.cancel()
	if err := <-a.ended; err != context.Canceled {
		t.Errorf("Run = %v, want context.Canceled once stopped", err)
	}
	a.ended <- nil // for the cleanup
}

func TestAReloadThatDoesNotCompileLeavesTheOldVersionServing(t *testing.T) {
	a := startDevApp(t)
	a.waitFor("hammer  | v1 count 1")
	garbage := filepath.Join(t.TempDir(), "version.wasm")
	if err := os.WriteFile(garbage, []byte("\x00asm\x01\x00\x00\x00garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := a.reload(map[string]string{"version": garbage, "hammer": garbage})
	if err == nil || !strings.Contains(err.Error(), "program hammer") {
		t.Fatalf("reload of broken modules = %v, want an error naming program hammer", err)
	}
	if err := a.reload(map[string]string{"nobody": garbage}); err == nil || !strings.Contains(err.Error(), "no guest named nobody") {
		t.Errorf("reload of an unknown guest = %v", err)
	}
	// Nothing was swapped or stopped: the program runs on against v1.
	a.waitFor("hammer  | 100 answers")
	dir, _ := reloadWasm()
	if err := a.reload(map[string]string{"hammer": filepath.Join(dir, "hammer.wasm")}); err != nil {
		t.Fatal(err)
	}
	a.waitFor("hammer  | v1 count 2")
	if strings.Contains(a.out.String(), "failed") || strings.Contains(a.out.String(), "now v") {
		t.Errorf("the failed reloads changed something; output:\n%s", a.out)
	}
}

// A reload whose new version of a service ends before it is ready (a panic
// in its main, say) leaves the version it replaced serving, started anew:
// the calls held for the swap are answered, none fails, and the next
// reload of the service takes as usual.
func TestAReloadWhoseNewVersionCannotStartGivesWayToTheOldOne(t *testing.T) {
	a := startDevApp(t)
	a.waitFor("hammer  | v1 count 1")
	a.waitFor("hammer  | 100 answers")
	dir, _ := reloadWasm()
	err := a.reload(map[string]string{"version": filepath.Join(dir, "nostart.wasm")})
	if err == nil || !strings.Contains(err.Error(), "service version: its new version ended before it was ready; the version it replaced serves again") {
		t.Fatalf("reload of a version that cannot start = %v, want it said that the old version serves again\noutput:\n%s", err, a.out)
	}
	a.waitFor("parigot: service version panicked (its stack trace is above)")
	if err := a.reload(map[string]string{"hammer": filepath.Join(dir, "hammer.wasm")}); err != nil {
		t.Fatalf("reload of the program: %v", err)
	}
	a.waitFor("hammer  | v1 count 2")
	if err := a.reload(map[string]string{"version": filepath.Join(dir, "version2.wasm")}); err != nil {
		t.Fatalf("reload of version2 after the one that could not start: %v\noutput:\n%s", err, a.out)
	}
	a.waitFor("hammer  | now v2")
	if strings.Contains(a.out.String(), "failed") {
		t.Errorf("a call failed across the reloads; output:\n%s", a.out)
	}
}

// A reload whose new version of a service is not ready within the ready
// timeout stops it, and the version it replaced serves again. The timeout
// is the run's, so it leaves the first versions of a busy machine ample
// time to get ready: the test waits it out once.
func TestAReloadWhoseNewVersionIsNeverReadyGivesWayToTheOldOne(t *testing.T) {
	a := startDevAppReadyWithin(t, 10*time.Second)
	a.waitFor("hammer  | v1 count 1")
	a.waitFor("hammer  | 100 answers")
	dir, _ := reloadWasm()
	err := a.reload(map[string]string{"version": filepath.Join(dir, "noready.wasm")})
	if err == nil || !strings.Contains(err.Error(), "service version: its new version was not ready within 10s; it was stopped, and the version it replaced serves again") {
		t.Fatalf("reload of a version that is never ready = %v, want it said that it was stopped and the old version serves again\noutput:\n%s", err, a.out)
	}
	if err := a.reload(map[string]string{"hammer": filepath.Join(dir, "hammer.wasm")}); err != nil {
		t.Fatalf("reload of the program: %v", err)
	}
	a.waitFor("hammer  | v1 count 2")
}

// During parigot dev a service that goes down for good is said once, with
// what brings it back, and a failure a restart line said is not said
// again; the next reload starts the service again, before the programs
// run again, so that they find it serving. A reload for a save that
// changed no guest's build (DownOnly) starts it again too, and runs no
// program.
func TestAServiceThatWentDownDuringDevStartsAgainAtTheNextReload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm guests")
	}
	for _, downOnly := range []bool{false, true} {
		t.Run(map[bool]string{false: "a reload of changed guests", true: "a save that changed no build"}[downOnly], func(t *testing.T) {
			faulty := &GuestSpec{Name: "faulty", Kind: Service, Wasm: wasm(t, "faulty"), Implements: []string{"test.Faulty"},
				MethodTimeout: time.Minute, Restart: RestartOnFailure}
			caller := &GuestSpec{Name: "faultcaller", Kind: Program, Wasm: wasm(t, "faultcaller"), Requires: []string{"faulty"},
				Env: []string{"FAULT=Panic", "TIMES=4"}}
			ctx, cancel := context.WithCancel(t.Context())
			a := &devApp{t: t, reloads: make(chan Reload), out: &lines.Buffer{}, cancel: cancel, ended: make(chan error, 1)}
			go func() {
				_, err := Run(ctx, Config{Guests: []*GuestSpec{faulty, caller}, Stdout: a.out, Stderr: a.out, Reloads: a.reloads,
					Backoff: Backoff{Waits: []time.Duration{0}}})
				a.ended <- err
			}()
			t.Cleanup(func() {
				cancel()
				<-a.ended
			})

			const down = "parigot: service faulty panicked (its stack trace is above); it is down until your next save starts it again, and calls to it fail with unavailable"
			a.waitFor(down)
			a.waitFor("faultcaller | Hello: test.Faulty/Hello: unavailable: service faulty is not running")
			if n := strings.Count(a.out.String(), "parigot: service faulty panicked"); n != 4 {
				t.Errorf("the service's 4 panics (3 restarts, then down) were said %d times, want 4:\n%s", n, a.out)
			}

			done := make(chan error, 1)
			a.reloads <- Reload{DownOnly: downOnly, Done: done}
			if err := <-done; err != nil {
				t.Fatalf("the reload: %v\noutput:\n%s", err, a.out)
			}
			a.waitFor("parigot: service faulty, which had gone down, starts again")
			if downOnly {
				if n := strings.Count(a.out.String(), "faultcaller | Hello: ok"); n != 1 {
					t.Errorf("a reload of the services that went down ran the program again:\n%s", a.out)
				}
				if err := a.reload(nil); err != nil { // what runs the program again
					t.Fatalf("the reload: %v\noutput:\n%s", err, a.out)
				}
			}
			// The program's second run finds the service serving.
			for deadline := time.Now().Add(patience); strings.Count(a.out.String(), "faultcaller | Hello: ok") < 2; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the program's second run did not reach the service:\n%s", a.out)
				}
			}
			if n := strings.Count(a.out.String(), "which had gone down, starts again"); n != 1 {
				t.Errorf("the service was started again %d times, want once:\n%s", n, a.out)
			}
		})
	}
}
