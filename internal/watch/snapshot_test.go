package watch

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A change reported after a build for a file the build read as it still
// is, is one the build included; a save after the build is a new one,
// though it writes what the file held.
func TestASnapshotHoldsWhatABuildRead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after func(t *testing.T, file string, began time.Time, ended time.Time)
		holds bool
	}{
		{"a file not written since", func(*testing.T, string, time.Time, time.Time) {}, true},
		{"a file written again during the build with what it held", func(t *testing.T, file string, began, _ time.Time) {
			write(t, file, "package main // 1")
			setModTime(t, file, began.Add(time.Millisecond))
		}, true},
		{"a file written during the build with something new", func(t *testing.T, file string, began, _ time.Time) {
			write(t, file, "package main // 2")
			setModTime(t, file, began.Add(time.Millisecond))
		}, false},
		{"a file saved after the build with what it held", func(t *testing.T, file string, _, ended time.Time) {
			write(t, file, "package main // 1")
			setModTime(t, file, ended.Add(time.Second))
		}, false},
		{"a file removed", func(t *testing.T, file string, _, _ time.Time) {
			if err := os.Remove(file); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			file := filepath.Join(root, "greeting", "main.go")
			write(t, file, "package main // 1")
			began := time.Now()
			setModTime(t, file, began.Add(-time.Second))
			s := Take(root, nil)
			ended := began.Add(time.Minute)
			tc.after(t, file, began, ended)
			if got := s.Holds(filepath.Join("greeting", "main.go"), ended); got != tc.holds {
				t.Errorf("Holds = %v, want %v", got, tc.holds)
			}
		})
	}
	t.Run("a file that was not there and is not", func(t *testing.T) {
		if !Take(t.TempDir(), nil).Holds("gone.go", time.Now()) {
			t.Error("Holds = false, want true")
		}
	})
	t.Run("a file made since", func(t *testing.T) {
		root := t.TempDir()
		s := Take(root, nil)
		write(t, filepath.Join(root, "new.go"), "package main")
		if s.Holds("new.go", time.Now().Add(time.Minute)) {
			t.Error("Holds = true, want false")
		}
	})
}

func setModTime(t *testing.T, file string, at time.Time) {
	t.Helper()
	if err := os.Chtimes(file, at, at); err != nil {
		t.Fatal(err)
	}
}
