// Package testguest builds the wasm guests that the runtime's own tests run
// (the Go main packages under runtime/host/testdata/guests and
// runtime/split/testdata/guests). Only tests import it.
package testguest

import (
	"context"
	"os"
	"sync"
	"testing"

	"parigot.dev/parigot/internal/guestbuild"
)

// built are the directories Build made in this process, which Main removes.
var built sync.Map

// Build compiles each package of pkgs (guest name -> package path,
// relative to the calling test's directory) as parigot builds guests, in parallel,
// into a new temporary directory, and returns that directory: guest name N
// is at dir/N.wasm. A test binary that builds guests runs its tests with
// Main, which removes the directory at the end.
func Build(pkgs map[string]string) (dir string, err error) {
	dir, err = os.MkdirTemp("", "parigot-test-guests")
	if err != nil {
		return "", err
	}
	built.Store(dir, true)
	if err := guestbuild.BuildAll(context.Background(), "", dir, pkgs); err != nil {
		return "", err
	}
	return dir, nil
}

// Main runs m's tests, removes the guests Build made for them (a few
// hundred MB a run otherwise stay in the temporary directory), and exits
// with the tests' code. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	built.Range(func(dir, _ any) bool {
		os.RemoveAll(dir.(string))
		return true
	})
	os.Exit(code)
}
