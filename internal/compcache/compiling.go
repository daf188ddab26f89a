package compcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// compilingDir is the subdirectory of the compilation cache that holds the
// locks of the modules being compiled.
const compilingDir = "compiling"

// lockPoll is how often a process waiting for another's compilation looks
// whether it is over.
const lockPoll = 20 * time.Millisecond

// Wait says how Compiling waits for another process's compilation.
type Wait struct {
	// Patience bounds the wait: past it, the caller compiles the module
	// itself.
	Patience time.Duration
	// Slow, when Said is set, is how long the wait goes on before Said is
	// told whose compilation it waits for (its process id, 0 when not
	// known): a replica waits for its sibling for seconds, while a process
	// stopped with its compilation under way (Ctrl-Z) would hold the others
	// for the whole Patience.
	Slow time.Duration
	Said func(holder int)
}

// Compiling waits until no other process, nor goroutine, compiles wasm
// with the compilation cache in dir, then holds that module's compilation
// until release is called, which the caller does once the compiled code is
// in the cache. Two split-mode replicas of a service, or two test binaries
// running the same guest, starting at once would both compile it, each
// slowing the other down on cores they share: the second waits for the
// first, and loads the entry it wrote. It reports whether it waited.
//
// It never fails the compilation: after w.Patience, when ctx ends, or
// where the file system has no locks, it returns without holding anything,
// and the caller compiles as it would have.
func Compiling(ctx context.Context, dir string, wasm []byte, w Wait) (release func(), waited bool) {
	sum := sha256.Sum256(wasm)
	locks := filepath.Join(dir, compilingDir)
	if err := os.MkdirAll(locks, 0o700); err != nil {
		return func() {}, false
	}
	path := filepath.Join(locks, hex.EncodeToString(sum[:16])+".lock")
	deadline := time.NewTimer(w.Patience)
	defer deadline.Stop()
	var slow <-chan time.Time
	if w.Said != nil {
		t := time.NewTimer(w.Slow)
		defer t.Stop()
		slow = t.C
	}
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return func() {}, waited
		}
		held, err := tryLock(f)
		for err == nil && !held {
			waited = true
			if ctx.Err() != nil {
				break
			}
			select {
			case <-time.After(lockPoll):
				held, err = tryLock(f)
			case <-slow:
				w.Said(holder(f))
			case <-deadline.C:
				err = errImpatient
			case <-ctx.Done():
			}
		}
		if !held {
			f.Close()
			return func() {}, waited
		}
		// The holder before removes the file as it releases it: a lock on
		// a file no longer at path is no lock on the module.
		if sameFile(f, path) {
			f.Truncate(0)
			f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0) // for Said
			return func() {
				os.Remove(path) // before the lock goes: whoever waits opens a new file
				f.Close()
			}, waited
		}
		f.Close()
	}
}

// errImpatient ends a wait that lasted Wait.Patience.
var errImpatient = errors.New("waited long enough")

// holder is the process id the holder of f's lock wrote into it, or 0.
func holder(f *os.File) int {
	b := make([]byte, 20)
	n, _ := f.ReadAt(b, 0)
	pid, _ := strconv.Atoi(string(b[:n]))
	return pid
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
