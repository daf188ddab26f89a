// Package tempdir makes the temporary directories a parigot process keeps
// for its run (the sockets of split mode's direct connections, an
// ephemeral JetStream store, the link to a guest under the debugger), and
// removes those that earlier processes left behind.
//
// A process removes its own directory when it ends, but one killed with
// SIGKILL (or by the machine's running out of memory) cannot. Each
// directory is named after the process that made it, so the next process
// that makes one of the same kind removes every one whose process is
// gone, and a machine that runs parigot often does not fill its temporary
// directory with them.
package tempdir

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Make makes a fresh directory in os.TempDir(), readable only by this
// user, named prefix, this process's id, a dash and a random suffix
// ("parigot-run-4242-123456"), after removing every directory of the same
// prefix whose process has ended. The caller removes the directory it got
// when it is done with it.
func Make(prefix string) (string, error) {
	Sweep(os.TempDir(), prefix)
	return os.MkdirTemp("", fmt.Sprintf("%s%d-", prefix, os.Getpid()))
}

// Sweep removes the directories in dir that Make named with prefix and
// whose process has ended. What it cannot tell (another name, a file, a
// process it may not signal, another system than Unix) it leaves.
func Sweep(dir, prefix string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, ok := madeBy(e.Name(), prefix)
		if !ok || !e.IsDir() || pid == os.Getpid() || !ended(pid) {
			continue
		}
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// madeBy returns the id of the process that named a directory name, if
// Make named it with prefix.
func madeBy(name, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	digits, suffix, ok := strings.Cut(rest, "-")
	if !ok || suffix == "" {
		return 0, false
	}
	pid, err := strconv.Atoi(digits)
	if err != nil || pid <= 0 || strconv.Itoa(pid) != digits {
		return 0, false
	}
	return pid, true
}
