//go:build unix

package builder

import (
	"os"
	"syscall"
)

// lockApp takes an exclusive lock for building the app in dir, so that two
// parigot processes building one app (two test binaries, say) take turns
// instead of one reading generated code or a .wasm the other is writing.
// The lock is on the app directory itself: every process that builds the
// app opens that one directory, whatever its temp directory or user cache
// (a test runner sets its own TMPDIR), and no file is left behind.
func lockApp(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
