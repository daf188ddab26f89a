package guestbuild

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"parigot.dev/parigot/internal/child"
)

// StdCompiled reports whether the go command goCmd ("go" when empty), run
// in dir, finds the standard library compiled for guests in its build
// cache, and, when it does not, the Go version that will compile it. The
// first build of guests with a Go version and build cache compiles it,
// which takes a minute; after that it stays there until `go clean -cache`
// or the go command's own trimming of entries unused for days removes it.
//
// The go command answers from its build cache itself (go list computes
// what a build would do, without building), so the answer holds for a
// cache restored on a new machine, a cache cleaned, a GOCACHE set to
// another directory. It is asked of unicode/utf8, a package of the
// standard library that imports nothing, which every guest build
// compiles: 8 ms, where fmt, which pulls in the runtime, took 34 ms of
// every build, a third of a build with nothing to do.
func StdCompiled(ctx context.Context, goCmd, dir string) (compiled bool, goVersion string, err error) {
	if goCmd == "" {
		goCmd = "go"
	}
	list := exec.CommandContext(ctx, goCmd, append(append([]string{"list"}, buildFlags...), "-f", "{{.Stale}}", "unicode/utf8")...)
	list.Dir = dir
	list.Env = environ(envFor(ctx, goCmd, dir)...)
	child.StopPolitely(list, nil)
	out, err := list.Output()
	if err != nil {
		return false, "", fmt.Errorf("%s list: %w", goCmd, err)
	}
	if strings.TrimSpace(string(out)) == "false" {
		return true, "", nil
	}
	env := exec.CommandContext(ctx, goCmd, "env", "GOVERSION")
	env.Dir = dir
	child.StopPolitely(env, nil)
	out, err = env.Output()
	if err != nil {
		return false, "", fmt.Errorf("%s env: %w", goCmd, err)
	}
	return false, strings.TrimSpace(string(out)), nil
}
