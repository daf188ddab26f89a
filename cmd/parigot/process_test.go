package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parigot.dev/parigot/internal/syncbuf"
)

// parigotProcess is a parigot command that a test starts as a user's shell
// would: the test binary itself (TestMain makes it parigot when its Args[0]
// is "parigot"), in a process group of its own, which the test's cleanup
// kills whatever happened. The test waits for lines of its output.
type parigotProcess struct {
	cmd    *exec.Cmd
	stdout syncbuf.Buffer
	stderr syncbuf.Buffer
	copied sync.WaitGroup // the output copiers, done once parigot has exited
}

// patienceForParigot bounds each wait for something parigot must do
// (builds included): reaching it means it never happens.
const patienceForParigot = 3 * time.Minute

// startParigot runs parigot with args in dir ("" for the test's), with env
// added to the test's environment.
func startParigot(t *testing.T, dir string, env []string, args ...string) *parigotProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &parigotProcess{}
	p.cmd = &exec.Cmd{Path: exe, Args: append([]string{"parigot"}, args...), Dir: dir,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) })
	copyLines := func(r io.Reader, to *syncbuf.Buffer) {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			to.Write([]byte(sc.Text() + "\n"))
		}
	}
	p.copied.Go(func() { copyLines(stdout, &p.stdout) })
	p.copied.Go(func() { copyLines(stderr, &p.stderr) })
	return p
}

// said is everything parigot printed so far, for a failure's message.
func (p *parigotProcess) said() string {
	return "stdout:\n" + p.stdout.String() + "stderr:\n" + p.stderr.String()
}

// waitFor waits until out (p.stdout or p.stderr) has n lines matching re,
// and returns the submatches of the n-th.
func (p *parigotProcess) waitFor(t *testing.T, out *syncbuf.Buffer, re *regexp.Regexp, n int) []string {
	t.Helper()
	for deadline := time.Now().Add(patienceForParigot); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var seen int
		for _, line := range strings.Split(out.String(), "\n") {
			if m := re.FindStringSubmatch(line); m != nil {
				if seen++; seen == n {
					return m
				}
			}
		}
	}
	t.Fatalf("no line matching %q (%d) within %s:\n%s", re, n, patienceForParigot, p.said())
	return nil
}

// signal sends sig to parigot's process group, as a terminal's Ctrl-C
// (SIGINT) or a service manager (SIGTERM) does.
func (p *parigotProcess) signal(sig syscall.Signal) {
	syscall.Kill(-p.cmd.Process.Pid, sig)
}

// wait waits until parigot has exited and its output is read.
func (p *parigotProcess) wait(t *testing.T) error {
	t.Helper()
	waited := make(chan error, 1)
	go func() { p.copied.Wait(); waited <- p.cmd.Wait() }()
	select {
	case err := <-waited:
		return err
	case <-time.After(patienceForParigot):
		t.Fatalf("parigot did not exit within %s:\n%s", patienceForParigot, p.said())
	}
	return nil
}

// stop sends SIGTERM and expects parigot to exit 130.
func (p *parigotProcess) stop(t *testing.T) {
	t.Helper()
	p.signal(syscall.SIGTERM)
	p.wantInterrupted(t, p.wait(t))
}

// wantInterrupted expects err, how parigot ended, to be exit code 130, as
// an interrupted run ends.
func (p *parigotProcess) wantInterrupted(t *testing.T, err error) {
	t.Helper()
	var exit *exec.ExitError
	if !errorsAs(err, &exit) || exit.ExitCode() != exitInterrupted {
		t.Errorf("exit: %v, want code %d\n%s", err, exitInterrupted, p.said())
	}
}
