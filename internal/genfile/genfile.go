// Package genfile writes generated files the way builds need them written:
// only when their content changes (so that the go command's caches and file
// watchers see no change when there is none), and atomically (so that a
// reader never sees half a file).
package genfile

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Sum is the SHA-256 of the file name's content, or nil when it cannot be
// read (it is not there yet): what a build compares to tell whether it
// changed a file.
func Sum(name string) *[32]byte {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(b)
	return &sum
}

// WriteIfChanged writes content to name unless the file already holds
// exactly that, through a temporary file in the same directory and a rename.
// It creates the directory if needed, and reports whether it wrote.
func WriteIfChanged(name string, content []byte) (bool, error) {
	old, err := os.ReadFile(name)
	if err == nil && bytes.Equal(old, content) {
		return false, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return false, err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return false, err
	}
	return true, nil
}
