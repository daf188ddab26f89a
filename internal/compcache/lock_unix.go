//go:build unix

package compcache

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes f's exclusive lock if no other open file holds it, and
// reports whether it did; an error means the file system has no such
// locks.
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}
