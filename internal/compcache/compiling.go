package compcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"time"
)

// compilingDir is the subdirectory of the compilation cache that holds the
// locks of the modules being compiled.
const compilingDir = "compiling"

// lockPoll is how often a process waiting for another's compilation looks
// whether it is over.
const lockPoll = 20 * time.Millisecond

// Compiling waits until no other process, nor goroutine, compiles wasm
// with the compilation cache in dir, then holds that module's compilation
// until release is called, which the caller does once the compiled code is
// in the cache. Two split-mode replicas of a service, or two test binaries
// running the same guest, starting at once would both compile it, each
// slowing the other down on cores they share: the second waits for the
// first, and loads the entry it wrote. It reports whether it waited.
//
// It never fails the compilation: after patience, when ctx ends, or
// where the file system has no locks, it returns without holding anything,
// and the caller compiles as it would have.
func Compiling(ctx context.Context, dir string, wasm []byte, patience time.Duration) (release func(), waited bool) {
	sum := sha256.Sum256(wasm)
	locks := filepath.Join(dir, compilingDir)
	if err := os.MkdirAll(locks, 0o700); err != nil {
		return func() {}, false
	}
	path := filepath.Join(locks, hex.EncodeToString(sum[:16])+".lock")
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return func() {}, waited
		}
		for {
			held, err := tryLock(f)
			if err != nil {
				f.Close()
				return func() {}, waited
			}
			if held {
				break
			}
			waited = true
			select {
			case <-time.After(lockPoll):
				continue
			case <-deadline.C:
			case <-ctx.Done():
			}
			f.Close()
			return func() {}, waited
		}
		// The holder before removes the file as it releases it: a lock on
		// a file no longer at path is no lock on the module.
		if sameFile(f, path) {
			return func() {
				os.Remove(path) // before the lock goes: whoever waits opens a new file
				f.Close()
			}, waited
		}
		f.Close()
	}
}

// sameFile reports whether f is the file at path.
func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}
