// Package compcache is parigot's cache directory and the compilation cache
// of wazero in it: the native code of every guest parigot has run, which
// loads in a fraction of the seconds compiling a guest takes.
//
// It says where the cache lives, measures it, empties it, and prunes it by
// a policy (a size and an age, from the environment) at most once an hour,
// so that it does not grow without bound as guests are edited and rebuilt.
// It is not the cache itself: wazero reads and writes the entries.
//
// Pruning runs beside other parigot processes using the same cache (two test
// binaries, a run and a build) and never makes them fail: it removes only
// entry files, never the directories wazero writes into nor the temporary
// files it is writing, and on Unix a process that has an entry open keeps
// reading it after it is removed; one that looks for it later compiles the
// guest again.
package compcache

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Environment variables that configure the cache.
const (
	EnvDir     = "PARIGOT_CACHE_DIR"      // the cache directory; default: the user cache directory's parigot
	EnvMaxSize = "PARIGOT_CACHE_MAX_SIZE" // the compilation cache's size limit, e.g. 2GiB; 0 or off: none
	EnvMaxAge  = "PARIGOT_CACHE_MAX_AGE"  // how long an unused entry is kept, e.g. 14d or 72h; 0 or off: for ever
)

// The default policy: a few apps' guests fit (a compiled Go guest is 10 to
// 30 MB), and a guest not run for a week is compiled again when it is.
const (
	DefaultMaxSize int64 = 1 << 30
	DefaultMaxAge        = 7 * 24 * time.Hour
)

// PruneEvery is how often, at most, Prepare prunes the compilation cache.
const PruneEvery = time.Hour

// tmpSuffix ends the names of the files wazero writes an entry into before
// renaming them; tmpGrace is how old such a file must be before it counts as
// left behind by a process that died.
const (
	tmpSuffix = ".tmp"
	tmpGrace  = time.Hour
)

// stampName is the file in the compilation cache whose modification time is
// when it was last pruned.
const stampName = "pruned"

// Root is parigot's cache directory: $PARIGOT_CACHE_DIR, else the user cache
// directory's parigot (~/.cache/parigot on Linux), else one in the temporary
// directory.
func Root() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "parigot")
	}
	return filepath.Join(os.TempDir(), "parigot-cache")
}

// WazeroDir is the directory of wazero's compilation cache, in Root. wazero
// keeps one subdirectory per wazero version and platform in it.
func WazeroDir() string { return filepath.Join(Root(), "wazero") }

// Prepare returns WazeroDir, first pruning it by the policy of the
// environment if it was last pruned PruneEvery ago or longer. It never
// fails: a cache it cannot prune is used as it is, and a setting of the
// environment it cannot read is replaced by its default (parigot run, test
// and cache report such a setting).
func Prepare() string {
	dir := WazeroDir()
	p, _ := PolicyFromEnv()
	pruneIfDue(dir, p, time.Now())
	return dir
}

// NextPrune is when Prepare next prunes dir: PruneEvery after it last
// did, or the zero time when it never did (the next Prepare does).
func NextPrune(dir string) time.Time {
	fi, err := os.Stat(filepath.Join(dir, stampName))
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime().Add(PruneEvery)
}

// pruneIfDue prunes dir by p unless its stamp says it was pruned less than
// PruneEvery before now (NextPrune is later, by at most PruneEvery: a
// stamp from the future is a clock that was set back), and reports
// whether it pruned. Two processes may both find it due and both prune:
// removing what the other removed is no error.
func pruneIfDue(dir string, p Policy, now time.Time) bool {
	if wait := NextPrune(dir).Sub(now); wait > 0 && wait <= PruneEvery {
		return false
	}
	stamp := filepath.Join(dir, stampName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false
	}
	if err := os.WriteFile(stamp, nil, 0o600); err != nil {
		return false
	}
	os.Chtimes(stamp, now, now)
	Prune(dir, p, now)
	return true
}

// Usage is how much a cache holds.
type Usage struct {
	Entries int   // compiled guests (one per guest, wazero version and platform)
	Bytes   int64 // their size, with any temporary files
}

// entry is one file of the compilation cache.
type entry struct {
	path    string
	size    int64
	lastUse time.Time // its last read, as far as the file system records it, or its writing
	tmp     bool      // a file wazero is writing, or left behind
}

// entries lists the files of the compilation cache in dir: those in its
// subdirectories, where wazero keeps them (not the locks of Compiling). A
// missing dir holds none.
func entries(dir string) ([]entry, error) {
	subdirs, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []entry
	for _, sub := range subdirs {
		if !sub.IsDir() || sub.Name() == compilingDir {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, sub.Name()))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if !f.Type().IsRegular() {
				continue
			}
			fi, err := f.Info()
			if err != nil {
				continue // removed meanwhile
			}
			out = append(out, entry{
				path:    filepath.Join(dir, sub.Name(), f.Name()),
				size:    fi.Size(),
				lastUse: lastUse(fi),
				tmp:     strings.HasSuffix(f.Name(), tmpSuffix),
			})
		}
	}
	return out, nil
}

// lastUse is the later of fi's modification and access times. File systems
// mounted with relatime (Linux's default) record at least the first read
// after a write and one a day after that; with noatime it is the time the
// entry was written.
func lastUse(fi fs.FileInfo) time.Time {
	t := fi.ModTime()
	if a, ok := accessTime(fi); ok && a.After(t) {
		return a
	}
	return t
}

// Measure reports what the compilation cache in dir holds.
func Measure(dir string) (Usage, error) {
	es, err := entries(dir)
	var u Usage
	for _, e := range es {
		u.add(e)
	}
	return u, err
}

func (u *Usage) add(e entry) {
	if !e.tmp {
		u.Entries++
	}
	u.Bytes += e.size
}

// Prune removes from the compilation cache in dir the entries unused for
// p.MaxAge, then the least recently used ones until the rest fit in
// p.MaxSize, and temporary files left behind. It reports what it removed.
func Prune(dir string, p Policy, now time.Time) (Usage, error) {
	removed, err := prune(dir, p, now)
	if removed.Entries > 0 {
		forgetCompiled(dir)
	}
	return removed, err
}

func prune(dir string, p Policy, now time.Time) (Usage, error) {
	es, err := entries(dir)
	if err != nil {
		return Usage{}, err
	}
	var removed Usage
	var kept []entry
	var total int64
	for _, e := range es {
		expired := p.MaxAge > 0 && now.Sub(e.lastUse) > p.MaxAge
		if e.tmp {
			expired = now.Sub(e.lastUse) > tmpGrace
		}
		if expired && remove(e) {
			removed.add(e)
			continue
		}
		kept = append(kept, e)
		total += e.size
	}
	if p.MaxSize <= 0 || total <= p.MaxSize {
		return removed, nil
	}
	slices.SortFunc(kept, func(a, b entry) int { return a.lastUse.Compare(b.lastUse) })
	for _, e := range kept {
		if total <= p.MaxSize {
			break
		}
		if !e.tmp && remove(e) {
			removed.add(e)
			total -= e.size
		}
	}
	return removed, nil
}

// Clean removes every entry of the compilation cache in dir, and reports
// what it removed. The directories stay, and so do files being written.
func Clean(dir string, now time.Time) (Usage, error) {
	forgetCompiled(dir)
	es, err := entries(dir)
	var removed Usage
	for _, e := range es {
		if e.tmp && now.Sub(e.lastUse) <= tmpGrace {
			continue
		}
		if remove(e) {
			removed.add(e)
		}
	}
	return removed, err
}

// remove removes an entry and reports whether it removed it. One that is
// already gone was removed by another process, which counts it.
func remove(e entry) bool {
	return os.Remove(e.path) == nil
}
