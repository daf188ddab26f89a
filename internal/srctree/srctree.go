// Package srctree finds and checks parigot source trees: the directory an
// app's go.mod replaces parigot.dev/parigot with, since parigot is not
// served by the Go module proxy. parigot init writes the replace line;
// the build checks it before the go command would fail on it.
package srctree

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
)

// Module is the module path of parigot itself.
const Module = "parigot.dev/parigot"

// Check returns dir, absolute, if its go.mod declares Module, and an error
// that says what dir holds instead otherwise (callers add what to do).
func Check(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	mod, err := os.ReadFile(filepath.Join(abs, "go.mod"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, serr := os.Stat(abs); errors.Is(serr, fs.ErrNotExist) {
				return "", fmt.Errorf("%s does not exist", abs)
			}
			return "", fmt.Errorf("there is no go.mod in %s", abs)
		}
		return "", err
	}
	if got := modfile.ModulePath(mod); got != Module {
		return "", fmt.Errorf("%s/go.mod declares module %q, not %s", abs, got, Module)
	}
	return abs, nil
}

// BuiltFrom returns the root of the parigot module this function was
// compiled from, if that directory still holds it, and "" otherwise. The
// compiler records the absolute source path of each function unless
// -trimpath is given; go install from the module cache records the cache's
// copy.
func BuiltFrom() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	for dir := filepath.Dir(file); ; {
		if d, err := Check(dir); err == nil {
			return d
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Same reports whether the directories a and b are one, through symbolic
// links: two paths of one checkout are the same tree.
func Same(a, b string) bool {
	if a == b {
		return true
	}
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

// Head is the commit checked out in the git checkout dir, and "" when dir
// is none or git cannot say (git not installed, say).
func Head(dir string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--verify", "--quiet", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
