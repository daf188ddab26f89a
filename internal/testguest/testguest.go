// Package testguest builds the wasm guests that the runtime's own tests run
// (the Go main packages under runtime/host/testdata/guests and
// runtime/split/testdata/guests). Only tests import it.
package testguest

import (
	"context"
	"os"

	"parigot.dev/parigot/internal/guestbuild"
)

// Build compiles each package of pkgs (guest name -> package path, relative
// to the calling test's directory) as parigot builds guests, in parallel,
// into a new temporary directory, and returns that directory: guest name N
// is at dir/N.wasm.
func Build(pkgs map[string]string) (dir string, err error) {
	dir, err = os.MkdirTemp("", "parigot-test-guests")
	if err != nil {
		return "", err
	}
	if err := guestbuild.BuildAll(context.Background(), "", dir, pkgs); err != nil {
		return "", err
	}
	return dir, nil
}
