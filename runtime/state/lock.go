package state

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gofrs/flock"
)

// lockDir holds dir for this process (an advisory lock on a file in it,
// which the operating system gives back when the process ends, however it
// ends) and returns what gives it back sooner. A directory another process
// holds is refused, with that process named.
//
// The holder's process id is written to a file of its own, after the lock
// is held: writing it through a second handle of the lock file would
// release the lock where it is an fcntl lock (illumos, AIX), which a
// handle's close gives up.
func lockDir(dir string) (unlock func(), err error) {
	lock := flock.New(filepath.Join(dir, lockFile), flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	held, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("locking the data directory: %w", err)
	}
	pidName := filepath.Join(dir, pidFile)
	if !held {
		inUse := &InUseError{Dir: dir}
		if b, err := os.ReadFile(pidName); err == nil {
			inUse.PID, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		return nil, inUse
	}
	// How to reach a killed holder's server (see Live), which no longer
	// runs: no reader may take it for this one's.
	os.Remove(filepath.Join(dir, liveFile))
	// Who holds it is only said to a run refused: a failed write costs
	// that run the process id in its message, nothing else.
	_ = os.WriteFile(pidName, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
	return func() {
		os.Remove(pidName) // while held: the next holder's is not written yet
		lock.Close()
	}, nil
}
