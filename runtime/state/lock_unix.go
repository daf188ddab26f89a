//go:build unix

package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockDir holds dir for this process (an advisory lock on a file in it,
// which the kernel gives back when the process ends, however it ends) and
// returns what gives it back sooner. A directory another process holds is
// refused, with that process named.
func lockDir(dir string) (unlock func(), err error) {
	name := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking the data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(name)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := "another parigot run"
			if pid := strings.TrimSpace(string(b)); pid != "" {
				who += " (process " + pid + ")"
			}
			return nil, fmt.Errorf("the data directory %s is in use by %s: two runs on one directory would lose each other's writes; stop that run, or give this one another --data (or --ephemeral)", dir, who)
		}
		return nil, fmt.Errorf("locking the data directory: %w", err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() { f.Close() }, nil
}
