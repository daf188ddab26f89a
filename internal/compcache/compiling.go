package compcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// compilingDir is the subdirectory of the compilation cache that holds the
// locks of the modules being compiled, and the marks of those compiled.
const compilingDir = "compiling"

// compiledSuffix ends the name of a module's mark: the module was compiled
// into the cache since the cache last lost an entry.
const compiledSuffix = ".compiled"

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

// Compiling makes processes, and goroutines, that compile the same module
// wasm with the compilation cache in dir at once take turns: two
// split-mode replicas of a service, or two test binaries running the same
// guest, would both compile it, each slowing the other down on the cores
// they share. The first to come holds the module until it calls done,
// once wazero has put the compiled code in the cache (compiled) or failed
// to (not compiled); the others wait for it, and then load the module from
// the cache at once, side by side. A module compiled before (marked so by
// done) is not waited for at all: loading it takes a fraction of a second.
// It reports whether it waited.
//
// It never fails the compilation: after w.Patience, when ctx ends, or
// where the file system has no locks, it returns without holding anything,
// and the caller compiles as it would have.
func Compiling(ctx context.Context, dir string, wasm []byte, w Wait) (done func(compiled bool), waited bool) {
	none := func(bool) {}
	sum := sha256.Sum256(wasm)
	locks := filepath.Join(dir, compilingDir)
	path := filepath.Join(locks, hex.EncodeToString(sum[:16]))
	mark := path + compiledSuffix
	if exists(mark) {
		return none, false
	}
	if err := os.MkdirAll(locks, 0o700); err != nil {
		return none, false
	}
	path += ".lock"
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
			return none, waited
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
			return none, waited
		}
		// The holder before removes the file as it releases it: a lock on
		// a file no longer at path is no lock on the module.
		if !sameFile(f, path) {
			f.Close()
			continue
		}
		release := func() {
			os.Remove(path) // before the lock goes: whoever waits opens a new file
			f.Close()
		}
		if exists(mark) { // compiled while this one waited
			release()
			return none, waited
		}
		f.Truncate(0)
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0) // for Said
		return func(compiled bool) {
			if compiled {
				os.WriteFile(mark, nil, 0o600)
			}
			release()
		}, waited
	}
}

// errImpatient ends a wait that lasted Wait.Patience.
var errImpatient = errors.New("waited long enough")

// forgetCompiled removes the marks of the modules compiled into the cache
// in dir: an entry removed may be one of theirs, and a mark of a module no
// longer cached would have its compilations go ahead side by side again.
func forgetCompiled(dir string) {
	locks := filepath.Join(dir, compilingDir)
	names, _ := os.ReadDir(locks)
	for _, n := range names {
		if strings.HasSuffix(n.Name(), compiledSuffix) {
			os.Remove(filepath.Join(locks, n.Name()))
		}
	}
}

// holder is the process id the holder of f's lock wrote into it, or 0.
func holder(f *os.File) int {
	b := make([]byte, 20)
	n, _ := f.ReadAt(b, 0)
	pid, _ := strconv.Atoi(string(b[:n]))
	return pid
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
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
