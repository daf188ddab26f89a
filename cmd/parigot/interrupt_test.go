package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCtrlCStopsEverything starts an app whose program never ends, sends
// parigot the SIGINT a terminal's Ctrl-C would, and expects it to stop every
// guest (and, in split mode, every child process) and exit 130 promptly.
func TestCtrlCStopsEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"single", "split"} {
		t.Run(mode, func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := &exec.Cmd{Path: exe, Args: []string{"parigot", "run", "--mode=" + mode, "testdata/apps/forever"}, Stderr: &stderr}
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its own group, like a shell job
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			lines := bufio.NewScanner(out)
			running := make(chan bool, 1)
			go func() {
				for lines.Scan() {
					if strings.HasSuffix(lines.Text(), "| running") {
						running <- true
					}
				}
				close(running)
			}()
			select {
			case ok := <-running:
				if !ok {
					t.Fatalf("the app ended before it was running:\n%s", stderr.String())
				}
			case <-time.After(2 * time.Minute):
				t.Fatalf("the app did not start:\n%s", stderr.String())
			}
			start := time.Now()
			syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) // the whole group, as Ctrl-C does
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			select {
			case err = <-waited:
			case <-time.After(15 * time.Second):
				t.Fatalf("parigot did not stop within 15s of Ctrl-C:\n%s", stderr.String())
			}
			var exit *exec.ExitError
			if !errorsAs(err, &exit) || exit.ExitCode() != exitInterrupted {
				t.Errorf("exit: %v, want code %d\n%s", err, exitInterrupted, stderr.String())
			}
			if !strings.Contains(stderr.String(), "parigot: interrupted") {
				t.Errorf("stderr does not say it was interrupted:\n%s", stderr.String())
			}
			t.Logf("stopped %s after Ctrl-C", time.Since(start).Round(time.Millisecond))
			// Nothing of the group may be left: no guest process survives.
			time.Sleep(100 * time.Millisecond)
			if err := syscall.Kill(-cmd.Process.Pid, 0); err == nil {
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
