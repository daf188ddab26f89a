//go:build unix

package builder

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"syscall"
)

// lockApp takes an exclusive lock for building the app in dir, so that two
// parigot processes building one app (two test binaries, say) take turns
// instead of one reading generated code or a .wasm the other is writing.
// The lock file lives in the temp directory, not in the app.
func lockApp(dir string) (unlock func(), err error) {
	sum := sha256.Sum256([]byte(dir))
	name := filepath.Join(os.TempDir(), "parigot-build-"+hex.EncodeToString(sum[:8])+".lock")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
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
