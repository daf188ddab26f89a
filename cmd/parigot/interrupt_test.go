package main

import (
	"os/exec"
	"regexp"
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
			var exit *exec.ExitError
			if !errorsAs(err, &exit) || exit.ExitCode() != exitInterrupted {
				t.Errorf("exit: %v, want code %d\n%s", err, exitInterrupted, p.said())
			}
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
