package watch

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// patience bounds a wait for something that must happen; reaching it means
// it never did.
const patience = time.Minute

func next(t *testing.T, w *Watcher) []string {
	t.Helper()
	select {
	case b := <-w.Changes():
		return b
	case err := <-w.Errors():
		t.Fatalf("watching: %v", err)
	case <-time.After(patience):
		t.Fatal("no change reported")
	}
	return nil
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWatch(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "greeting", "main.go"), "package main")
	write(t, filepath.Join(root, "build", "greeting.wasm"), "old")
	// A quiet period long enough that back-to-back writes make one batch
	// even on a busy machine.
	w, err := newWatcher(root, func(rel string, dir bool) bool {
		return rel == "build" || strings.HasPrefix(rel, "build"+string(filepath.Separator)) || strings.HasSuffix(rel, ".wasm")
	}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	t.Run("several writes in a row are one batch", func(t *testing.T) {
		write(t, filepath.Join(root, "greeting", "main.go"), "package main // 1")
		write(t, filepath.Join(root, "greeting", "main.go"), "package main // 2")
		write(t, filepath.Join(root, "parigot.hcl"), "app \"x\" {}")
		got := next(t, w)
		want := []string{filepath.Join("greeting", "main.go"), "parigot.hcl"}
		if !slices.Equal(got, want) {
			t.Errorf("batch %q, want %q", got, want)
		}
	})

	t.Run("what skip leaves out is not reported", func(t *testing.T) {
		write(t, filepath.Join(root, "build", "greeting.wasm"), "new")
		write(t, filepath.Join(root, "hello.wasm"), "new")
		write(t, filepath.Join(root, "hello", "main.go"), "package main")
		got := next(t, w)
		// hello/ is a new directory: its creation comes first, and the file
		// in it may come in the same batch or the next.
		if !slices.Contains(got, "hello") {
			t.Errorf("batch %q lacks the new directory hello", got)
		}
		for _, p := range got {
			if strings.HasSuffix(p, ".wasm") {
				t.Errorf("batch %q has %s, which skip leaves out", got, p)
			}
		}
	})

	t.Run("a directory made while watching is watched", func(t *testing.T) {
		write(t, filepath.Join(root, "hello", "more.go"), "package main")
		for {
			got := next(t, w)
			if slices.Contains(got, filepath.Join("hello", "more.go")) {
				return
			}
		}
	})
}
