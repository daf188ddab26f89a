// Package child is the one place that says how parigot stops a command it
// started and waits for (the go command building guests, go test running
// the app's tests) when parigot itself is interrupted: as a terminal's
// Ctrl-C would stop it, so that it cleans up after itself.
//
// The go command removes its work directory (a go-build* directory under
// GOTMPDIR or the system's temporary directory, tens of megabytes for a test
// binary) when it gets SIGINT, and go test leaves it to the signal reaching
// the test binary through the process group: go test does not pass it on.
// exec.CommandContext's SIGKILL lets neither happen: the work directory is
// left behind and the test binary, with the app's guests in it, runs on
// until its test ends. So a child runs in a process group of its own, which
// gets SIGINT when the child's context is done, and SIGKILL if it has not
// ended Grace later.
//
// It is not for children that outlive a command (split mode's guest
// processes, a debugger): those are stopped by their supervisor.
package child

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"time"
)

// Grace is how long a child has to end after SIGINT before it is killed:
// the go command removes its work directory in well under a second, go
// test's test binary stops at once (a test that catches SIGINT waits
// here).
const Grace = 5 * time.Second

// StopPolitely makes cmd, made by exec.CommandContext and not yet started,
// stop politely when its context is done: it runs in a process group of
// its own (cmd.SysProcAttr is replaced), which gets SIGINT, then SIGKILL
// if the child has not ended within Grace; forced, when not nil, is told
// so in a sentence. Where there are no process groups and no SIGINT
// (Windows), the child is killed at once.
//
// The child no longer gets the terminal's Ctrl-C, nor its Ctrl-Z: parigot
// passes the interrupt on, as its context is done.
func StopPolitely(cmd *exec.Cmd, forced func(string)) {
	cmd.SysProcAttr = groupAttr()
	name := filepath.Base(cmd.Path)
	if len(cmd.Args) > 1 {
		name += " " + cmd.Args[1]
	}
	cmd.Cancel = func() error {
		polite, err := interruptGroup(cmd.Process)
		if err != nil || !polite {
			return err
		}
		time.AfterFunc(Grace, func() {
			if !groupAlive(cmd.Process) {
				return // it ended, and all it started
			}
			if forced != nil {
				forced(fmt.Sprintf("%s did not stop within %s of the interrupt: killing it and what it started (a go-build* work directory it leaves in the temporary directory can be removed)", name, Grace))
			}
			killGroup(cmd.Process)
		})
		return nil
	}
	// The last bound on Wait, for output that something outside the
	// group still holds open.
	cmd.WaitDelay = 2 * Grace
}
