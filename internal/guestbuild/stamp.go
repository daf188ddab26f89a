package guestbuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// A Stamp is a file in parigot's cache directory that says guests were built
// with one Go version and one Go build cache: after that, the build cache
// holds the standard library and parigot's dependencies compiled for wasip1.
//
// A stamp is cheaper than asking the go command what is in its build cache
// (there is no such question short of planning a build) and right where it
// matters: a new machine, a new Go version, a new GOCACHE. It is wrong
// after `go clean -cache`, when the first build is slow without warning;
// the builder's progress lines still show that it is working.
type Stamp struct {
	GoVersion string // as go env GOVERSION prints it
	GoCache   string // as go env GOCACHE prints it
	file      string
}

// LookupStamp asks goCmd ("go" when empty) for its version and build cache,
// and returns their stamp in dir, whether or not it exists.
func LookupStamp(ctx context.Context, goCmd, dir string) (*Stamp, error) {
	if goCmd == "" {
		goCmd = "go"
	}
	out, err := exec.CommandContext(ctx, goCmd, "env", "GOVERSION", "GOCACHE").Output()
	if err != nil {
		return nil, fmt.Errorf("%s env: %w", goCmd, err)
	}
	f := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(f) != 2 {
		return nil, fmt.Errorf("%s env GOVERSION GOCACHE printed %q", goCmd, out)
	}
	sum := sha256.Sum256([]byte(f[0] + "\n" + f[1]))
	return &Stamp{GoVersion: f[0], GoCache: f[1], file: filepath.Join(dir, "wasip1-built", hex.EncodeToString(sum[:8]))}, nil
}

// Exists reports whether guests were built with this Go version and build
// cache before.
func (s *Stamp) Exists() bool {
	_, err := os.Stat(s.file)
	return err == nil
}

// Write records that they were.
func (s *Stamp) Write() error {
	if err := os.MkdirAll(filepath.Dir(s.file), 0o755); err != nil {
		return err
	}
	msg := fmt.Sprintf("guests were built for wasip1 with %s, build cache %s\n", s.GoVersion, s.GoCache)
	return os.WriteFile(s.file, []byte(msg), 0o644)
}
