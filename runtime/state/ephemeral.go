package state

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gofrs/flock"
)

// ephemeralPrefix begins the name of the marker that a run with
// --ephemeral keeps, while it runs, in the data directory it leaves alone
// (see markEphemeral), followed by the run's process id, a dash and a
// random suffix.
const ephemeralPrefix = ".parigot.ephemeral-"

// markEphemeral marks dir, the data directory that a run keeping the
// app's stores and topics in memory (--ephemeral) does not use, as the
// app's that such a run runs: a file named after this process, which it
// holds locked until remove (the operating system gives the lock back
// however the process ends, so a killed run's marker is told apart: see
// EphemeralRuns). parigot state, which reads dir, says so rather than
// show what the directory holds (an earlier run's state) as the app's. A
// directory that does not exist is not made: it holds nothing to mistake
// for the app's, and parigot state says that no run has kept anything
// there. One that cannot be marked (it cannot be written to: --ephemeral
// is what is said to give then) is left as it is: the run does not need
// it.
func markEphemeral(dir string) (remove func()) {
	if fi, err := os.Stat(dir); dir == "" || err != nil || !fi.IsDir() {
		return func() {}
	}
	f, err := os.CreateTemp(dir, ephemeralPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return func() {}
	}
	name := f.Name()
	f.Close()
	lock := flock.New(name, flock.SetFlag(os.O_RDWR), flock.SetPermissions(0o600))
	if held, err := lock.TryLock(); err != nil || !held {
		os.Remove(name)
		return func() {}
	}
	return func() {
		os.Remove(name) // while held: no reader takes it for a killed run's
		lock.Close()
	}
}

// EphemeralRuns returns the process ids of the runs with --ephemeral that
// run now and marked dir (see markEphemeral), in order; it removes the
// markers of runs that ended, which no process holds any more.
func EphemeralRuns(dir string) []int {
	names, _ := filepath.Glob(filepath.Join(dir, ephemeralPrefix+"*"))
	var pids []int
	for _, name := range names {
		digits, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(name), ephemeralPrefix), "-")
		pid, err := strconv.Atoi(digits)
		if err != nil {
			continue // not a marker of parigot's
		}
		lock := flock.New(name, flock.SetFlag(os.O_RDONLY))
		held, err := lock.TryLock()
		switch {
		case err != nil: // gone meanwhile, or not ours to read
		case held: // its run ended
			os.Remove(name)
		default:
			pids = append(pids, pid)
		}
		lock.Close()
	}
	slices.Sort(pids)
	return slices.Compact(pids)
}

// EphemeralError is a data directory that parigot state would read while
// the app runs with --ephemeral: that run keeps the app's stores and
// topics in its memory, and what the directory holds (from earlier runs,
// or nothing) is not what the app sees.
type EphemeralError struct {
	Dir  string
	PIDs []int // the runs with --ephemeral (EphemeralRuns)
}

func (e *EphemeralError) Error() string {
	runs := make([]string, len(e.PIDs))
	for i, pid := range e.PIDs {
		runs[i] = strconv.Itoa(pid)
	}
	what := "a run of the app with --ephemeral (process " + runs[0] + ") keeps its stores and topics"
	if len(runs) > 1 {
		what = "runs of the app with --ephemeral (processes " + strings.Join(runs, ", ") + ") keep their stores and topics"
	}
	return fmt.Sprintf("%s in memory, out of parigot state's reach: what the data directory %s holds is not what the app sees now, and is not shown; to inspect the app's state, run it without --ephemeral", what, e.Dir)
}
