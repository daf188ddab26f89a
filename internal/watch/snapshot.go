package watch

import (
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"parigot.dev/parigot/internal/genfile"
)

// Snapshot is what a tree's files held at one moment: parigot dev takes
// one as each build begins, so that a change reported after the build, for
// a file the build read as it still is, is known for one the build
// already included (the watcher reports a save once its files have been
// quiet for Quiet, and on a busy machine the events of one save can come
// on both sides of that moment).
type Snapshot struct {
	root  string
	files map[string]fileState // by path relative to root
}

// fileState is one file's (or directory's) state in a Snapshot.
type fileState struct {
	dir     bool
	size    int64
	modTime time.Time
	sum     [32]byte // of a file's content
}

// Take records what the files under root that skip keeps (see New) hold
// now.
func Take(root string, skip func(rel string, dir bool) bool) *Snapshot {
	if skip == nil {
		skip = func(string, bool) bool { return false }
	}
	s := &Snapshot{root: root, files: map[string]fileState{}}
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == root {
			return nil // gone since it was listed: not there
		}
		rel, relErr := filepath.Rel(root, path)
		if relErr != nil || skip(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if st, ok := stateOf(path); ok {
			s.files[rel] = st
		}
		return nil
	})
	return s
}

// Holds reports whether the file at rel (relative to the root) holds now
// what it held when s was taken, and was last written no later than by:
// a change reported for it is then one a build that began at s and ended
// at by read. A file written after by is a new save, whatever it holds,
// and so is one that was not there and is, or the reverse.
func (s *Snapshot) Holds(rel string, by time.Time) bool {
	was, there := s.files[rel]
	now, here := stateOf(filepath.Join(s.root, rel))
	switch {
	case !there || !here:
		return there == here
	case was.dir || now.dir:
		return was.dir == now.dir && !now.modTime.After(by)
	case was.size == now.size && was.modTime.Equal(now.modTime):
		return true // not written since
	}
	return was.size == now.size && !now.modTime.After(by) && was.sum == now.sum
}

// stateOf reads the state of the file at path; false when it is not there.
func stateOf(path string) (fileState, bool) {
	info, err := os.Stat(path)
	if err != nil {
		return fileState{}, false
	}
	st := fileState{dir: info.IsDir(), size: info.Size(), modTime: info.ModTime()}
	if !st.dir {
		sum := genfile.Sum(path)
		if sum == nil {
			return fileState{}, false
		}
		st.sum = *sum
	}
	return st, true
}
