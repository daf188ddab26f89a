package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCtrlCStopsEverything starts an app whose program never ends, sends
// parigot the SIGINT a terminal's Ctrl-C would, and expects it to stop every
// guest (and, in split mode, every child process) and exit 130; the time
// it took is logged.
func TestCtrlCStopsEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	for _, mode := range []string{"single", "split"} {
		t.Run(mode, func(t *testing.T) {
			p := startParigot(t, "", nil, "run", "--mode="+mode, "testdata/apps/forever")
			p.waitFor(t, &p.stdout, regexp.MustCompile(`\| running$`), 1)
			start := time.Now()
			p.signal(syscall.SIGINT) // the whole group, as Ctrl-C does
			err := p.wait(t)
			p.wantInterrupted(t, err)
			if !strings.Contains(p.stderr.String(), "parigot: interrupted") {
				t.Errorf("stderr does not say it was interrupted:\n%s", p.said())
			}
			t.Logf("stopped %s after Ctrl-C", time.Since(start).Round(time.Millisecond))
			// Nothing of the group may be left: no guest process survives.
			time.Sleep(100 * time.Millisecond)
			if err := syscall.Kill(-p.cmd.Process.Pid, 0); err == nil {
				t.Errorf("processes of parigot's group are still alive after it exited")
			}
		})
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// slowTests are topology tests that start the app, write the test binary's
// process id to $PIDFILE, and run until stopped; TestStubborn ignores
// SIGINT, as a test that catches it for itself may.
const slowTests = `//go:build !wasip1

package shop_test

import (
	"os"
	"os/signal"
	"strconv"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/apptest"
)

func TestSlow(t *testing.T) { startAndWait(t) }

func TestStubborn(t *testing.T) {
	signal.Ignore(os.Interrupt)
	startAndWait(t)
}

func startAndWait(t *testing.T) {
	apptest.Start(t, ".", apptest.Default)
	if err := os.WriteFile(os.Getenv("PIDFILE"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Hour)
}
`

// TestInterruptedTestStopsGoTest interrupts parigot test (parigot alone,
// as CI cancelling a job or timeout(1) does) while a topology test runs,
// and expects it to exit 130 having stopped go test and the test binary,
// with the app's guests in it, and the go command to have removed its
// work directory. A test binary that ignores SIGINT is killed after a
// grace period, which parigot says.
func TestInterruptedTestStopsGoTest(t *testing.T) {
	app, env := newShop(t)
	if err := os.WriteFile(filepath.Join(app, "slow_test.go"), []byte(slowTests), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, test string
		sig        syscall.Signal
		forced     bool
	}{
		{"SIGINT", "TestSlow", syscall.SIGINT, false},
		{"SIGTERM", "TestSlow", syscall.SIGTERM, false},
		{"a test that ignores SIGINT", "TestStubborn", syscall.SIGINT, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			goTmp := t.TempDir() // the go command's work directories
			p := startParigot(t, app, append(env, "PIDFILE="+pidFile, "GOTMPDIR="+goTmp), "test", "--run", "^"+c.test+"$")
			pid := waitForPID(t, p, pidFile)
			t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
			syscall.Kill(p.cmd.Process.Pid, c.sig) // parigot alone
			err := p.wait(t)
			p.wantInterrupted(t, err)
			if !strings.Contains(p.stderr.String(), "parigot: interrupted") {
				t.Errorf("stderr does not say it was interrupted:\n%s", p.said())
			}
			if said := strings.Contains(p.stderr.String(), "go test did not stop within"); said != c.forced {
				t.Errorf("stderr says go test was killed: %v, want %v\n%s", said, c.forced, p.said())
			}
			// parigot waited for go test, which waited for the test
			// binary: the bound is for the kernel's bookkeeping alone.
			for deadline := time.Now().Add(time.Minute); syscall.Kill(pid, 0) == nil; time.Sleep(50 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the test binary (process %d) still runs a minute after parigot exited\n%s", pid, p.said())
				}
			}
			if c.forced {
				return // SIGKILL leaves the go command no time to clean up
			}
			if left, _ := os.ReadDir(goTmp); len(left) > 0 {
				t.Errorf("go test left its work directory %s in GOTMPDIR", left[0].Name())
			}
		})
	}
}

// waitForPID waits until the test that parigot test runs has written its
// process id to file.
func waitForPID(t *testing.T, p *parigotProcess, file string) int {
	t.Helper()
	for deadline := time.Now().Add(patienceForParigot); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(file); err == nil && len(b) > 0 {
			pid, err := strconv.Atoi(string(b))
			if err != nil {
				t.Fatalf("%s holds %q, not a process id", file, b)
			}
			return pid
		}
	}
	t.Fatalf("the test did not start within %s:\n%s", patienceForParigot, p.said())
	return 0
}
