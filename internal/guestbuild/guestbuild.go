// Package guestbuild is the one place that says how the go command turns a
// Go main package into a parigot guest. The builder, the runtime's test
// guests and the benchmarks all build with it, so that they share one set of
// compiled packages in the Go build cache and make the same bytes.
//
// A guest is built with GOOS=wasip1 GOARCH=wasm and two flags that make its
// bytes depend on its code alone: -trimpath (no absolute source paths: the
// same guest built in two checkouts or temporary directories is the same
// file) and -buildvcs=false (no commit or "modified" flag, which would change
// every guest at every commit). wazero's compilation cache is keyed by those
// bytes, so an unchanged guest keeps its native code. With Go 1.26 it also
// gets the allocator Go 1.27 makes the default (see envFor).
//
// It also asks the go command whether its build cache holds the standard
// library compiled for guests (StdCompiled): the first build of guests
// with a Go version and build cache compiles it and parigot's dependencies
// for wasip1, which takes a minute, and the builder says so beforehand.
package guestbuild

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"parigot.dev/parigot/internal/child"
)

// Env is what the go command's environment adds for every guest; see
// envFor for what it adds for some Go versions.
var Env = []string{"GOOS=wasip1", "GOARCH=wasm"}

// nativeOnlyFlags are the go command's flags that instrument native
// code alone, which a wasip1 build refuses ("-race is not supported on
// wasip1/wasm"): a GOFLAGS=-race meant for the tests of an app (parigot
// test, go test with apptest) leaves them out of its guests' builds.
var nativeOnlyFlags = []string{"race", "msan", "asan"}

// guestGOFLAGS returns goflags (a GOFLAGS value) without nativeOnlyFlags,
// and whether it had any.
func guestGOFLAGS(goflags string) (string, bool) {
	var kept []string
	dropped := false
	for _, f := range strings.Fields(goflags) {
		name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if slices.Contains(nativeOnlyFlags, name) {
			dropped = true
			continue
		}
		kept = append(kept, f)
	}
	return strings.Join(kept, " "), dropped
}

// environ is the go command's environment for guests: this process's,
// with GOFLAGS without nativeOnlyFlags, and then add.
func environ(add ...string) []string {
	env := os.Environ()
	if flags, dropped := guestGOFLAGS(os.Getenv("GOFLAGS")); dropped {
		env = append(env, "GOFLAGS="+flags) // the last of a name counts
	}
	return append(env, add...)
}

// buildFlags are the go command's flags for a guest. They are part of what
// the build cache keys its entries by, so StdCompiled asks with them too.
var buildFlags = []string{"-trimpath", "-buildvcs=false"}

// Command is the go command (goCmd, "go" when empty) that builds the main
// package pkg into the wasm file out, run in dir. When ctx is done it is
// stopped as package child says, and forced (when not nil) is told if it
// had to be killed.
func Command(ctx context.Context, goCmd, dir, out, pkg string, forced func(string)) *exec.Cmd {
	if goCmd == "" {
		goCmd = "go"
	}
	cmd := exec.CommandContext(ctx, goCmd, append(append([]string{"build"}, buildFlags...), "-o", out, pkg)...)
	cmd.Dir = dir
	cmd.Env = environ(envFor(ctx, goCmd, dir)...)
	child.StopPolitely(cmd, forced)
	return cmd
}

// DebugCommand is the go command that builds the main package pkg into the
// native executable out, for the debugger: the host's GOOS and GOARCH (the
// environment's, not a guest's), optimisations and inlining off so that
// every variable and line can be inspected. It stops as Command does.
func DebugCommand(ctx context.Context, goCmd, dir, out, pkg string, forced func(string)) *exec.Cmd {
	if goCmd == "" {
		goCmd = "go"
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-gcflags=all=-N -l", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=", "GOARCH=")
	child.StopPolitely(cmd, forced)
	return cmd
}

// BuildAll builds each package of pkgs (guest name -> package path,
// relative to dir) into outDir/<name>.wasm, with one go command: packages
// they share, the standard library first, are compiled once even when the
// Go build cache is cold. The packages' directories must have different
// names. The error has the go command's output.
func BuildAll(ctx context.Context, dir, outDir string, pkgs map[string]string) error {
	byBase := map[string]string{} // directory name -> guest name
	var paths []string
	for name, pkg := range pkgs {
		base := path.Base(filepath.ToSlash(pkg))
		if other, ok := byBase[base]; ok {
			return fmt.Errorf("guests %s and %s are both built from a directory named %s; one go build cannot build them together", other, name, base)
		}
		byBase[base] = name
		paths = append(paths, pkg)
	}
	slices.Sort(paths)
	// With -o naming a directory, go build writes each main package there
	// under its directory's name.
	cmd := Command(ctx, "", dir, outDir+string(filepath.Separator), paths[0], nil)
	cmd.Args = append(cmd.Args, paths[1:]...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building guests %s: %v\n%s", strings.Join(paths, " "), err, out)
	}
	for base, name := range byBase {
		if err := os.Rename(filepath.Join(outDir, base), filepath.Join(outDir, name+".wasm")); err != nil {
			return err
		}
	}
	return nil
}
