//go:build unix

package child

import (
	"bufio"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStopPolitelyEndsTheWholeGroup starts a shell whose own child ignores
// SIGINT (from its start: it inherits the shell's ignoring it, which the
// shell then stops; a background command's own ignoring of it would come
// after its start, too late on a busy machine), as a go command's compiler or
// test binary may outlive the go command, and expects cancelling to end
// both: the shell on SIGINT, its child on the SIGKILL after Grace, which
// forced is told of.
func TestStopPolitelyEndsTheWholeGroup(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cmd := exec.CommandContext(ctx, "sh", "-c", "trap '' INT; sleep 300 & trap - INT; echo $!; wait")
	var said strings.Builder
	StopPolitely(cmd, func(s string) { said.WriteString(s) })
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	sleeper, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("the shell said %q, not a process id", line)
	}
	t.Cleanup(func() { syscall.Kill(sleeper, syscall.SIGKILL) })
	cancel()
	cmd.Wait()
	for deadline := time.Now().Add(time.Minute); syscall.Kill(sleeper, 0) == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the shell's child (process %d) runs on a minute after the shell ended", sleeper)
		}
	}
	if want := "sh -c did not stop within " + Grace.String(); !strings.HasPrefix(said.String(), want) {
		t.Errorf("forced was told %q, want %q...", said.String(), want)
	}
}
