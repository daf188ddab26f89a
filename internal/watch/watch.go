// Package watch tells when the source files of an app change: parigot dev
// rebuilds on what it reports. It watches a directory tree (directories
// made later included) with fsnotify and reports changes in batches, once
// the files have been quiet for a moment, so that an editor's save (often
// several writes and a rename) or a branch switch is one batch.
//
// It is not a general file watcher: it reports paths only, and leaves out
// what the caller's Skip says is not source (build output, hidden
// directories).
package watch

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Quiet is how long the files must be left alone before a batch is
// reported.
const Quiet = 50 * time.Millisecond

// Watcher reports changes under one directory.
type Watcher struct {
	root    string
	skip    func(rel string, dir bool) bool
	fsw     *fsnotify.Watcher
	quiet   time.Duration // Quiet, but for tests
	changes chan []string
	errs    chan error
	done    chan struct{}
}

// New watches the tree at root. skip, given a path relative to root and
// whether it is a directory, says whether to leave it out (a directory left
// out is not watched at all); nil leaves out nothing.
func New(root string, skip func(rel string, dir bool) bool) (*Watcher, error) {
	return newWatcher(root, skip, Quiet)
}

func newWatcher(root string, skip func(rel string, dir bool) bool, quiet time.Duration) (*Watcher, error) {
	if skip == nil {
		skip = func(string, bool) bool { return false }
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watching %s: %w", root, err)
	}
	w := &Watcher{root: root, skip: skip, quiet: quiet, fsw: fsw, changes: make(chan []string), errs: make(chan error, 1), done: make(chan struct{})}
	if err := w.addTree(root); err != nil {
		fsw.Close()
		return nil, err
	}
	go w.loop()
	return w, nil
}

// Changes delivers each batch of changed paths, relative to the root,
// sorted and without repeats. A path may name a file that is gone.
func (w *Watcher) Changes() <-chan []string { return w.changes }

// Errors delivers what went wrong while watching (a directory that could
// not be watched, the system's watch limit reached); watching goes on.
func (w *Watcher) Errors() <-chan error { return w.errs }

// Close stops watching; Changes delivers nothing more.
func (w *Watcher) Close() error {
	close(w.done)
	return w.fsw.Close()
}

// addTree watches dir and every directory below it that skip keeps.
func (w *Watcher) addTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return fmt.Errorf("watching %s: %w", dir, err)
			}
			return nil // gone since it was listed
		}
		if !d.IsDir() {
			return nil
		}
		if path != w.root && w.skip(w.rel(path), true) {
			return filepath.SkipDir
		}
		if err := w.fsw.Add(path); err != nil {
			return fmt.Errorf("watching %s: %w (on Linux, raise fs.inotify.max_user_watches)", path, err)
		}
		return nil
	})
}

func (w *Watcher) rel(path string) string {
	if r, err := filepath.Rel(w.root, path); err == nil {
		return r
	}
	return path
}

// loop gathers events into batches and sends each once Quiet has passed
// without another.
func (w *Watcher) loop() {
	pending := map[string]bool{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-w.done:
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod {
				continue // touched, not changed
			}
			rel := w.rel(ev.Name)
			info, err := os.Stat(ev.Name)
			isDir := err == nil && info.IsDir()
			if w.skip(rel, isDir) {
				continue
			}
			if isDir && ev.Op.Has(fsnotify.Create) {
				if err := w.addTree(ev.Name); err != nil {
					w.report(err)
				}
			}
			pending[rel] = true
			timer.Reset(w.quiet)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			w.report(err)
		case <-timer.C:
			batch := make([]string, 0, len(pending))
			for p := range pending {
				batch = append(batch, p)
			}
			slices.Sort(batch)
			clear(pending)
			select {
			case w.changes <- batch:
			case <-w.done:
				return
			}
		}
	}
}

// report passes err on unless an earlier one is still unread.
func (w *Watcher) report(err error) {
	select {
	case w.errs <- err:
	default:
	}
}
