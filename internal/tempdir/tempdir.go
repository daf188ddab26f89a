// Package tempdir makes the temporary directories a parigot process keeps
// for its run (the sockets of split mode's direct connections, an
// ephemeral JetStream store, the link to a guest under the debugger, the
// go command's work directories while guests build), and
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

// The kinds of directory parigot makes, each Make's prefix.
const (
	Run       = "parigot-run-"       // split mode's sockets, for a run
	Direct    = "parigot-direct-"    // a split-mode process's socket, without a run's directory
	JetStream = "parigot-jetstream-" // an ephemeral JetStream store
	Debug     = "parigot-debug-"     // the link to a guest under the debugger
	Build     = "parigot-build-"     // the go command's work directories while guests build (GOTMPDIR)
)

var kinds = []string{Run, Direct, JetStream, Debug, Build}

// Make makes a fresh directory of kind (Run, ...) in os.TempDir(),
// readable only by this user, named kind, this process's id, a dash and a
// random suffix ("parigot-run-4242-123456"), after removing what Sweep
// removes. The caller removes the directory it got when it is done with
// it.
func Make(kind string) (string, error) {
	Sweep(os.TempDir())
	return os.MkdirTemp("", fmt.Sprintf("%s%d-", kind, os.Getpid()))
}

// Sweep removes the directories in dir that Make named, of any kind, whose
// process has ended. What it cannot tell (another name, a file, a process
// it may not signal, another system than Unix) it leaves. A command that
// runs an app calls it too, so that a run that makes no directory still
// removes those of runs killed before.
func Sweep(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		for _, kind := range kinds {
			pid, ok := madeBy(e.Name(), kind)
			if !ok || !e.IsDir() || pid == os.Getpid() || !ended(pid) {
				continue
			}
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
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
