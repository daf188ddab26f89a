// Package testguest builds the wasm guests that the runtime's own tests run
// (the Go main packages under runtime/host/testdata/guests and
// runtime/split/testdata/guests). Only tests import it.
package testguest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// Build compiles each package of pkgs (guest name -> package path, relative
// to the calling test's directory) with GOOS=wasip1 GOARCH=wasm, in
// parallel, into a new temporary directory, and returns that directory:
// guest name N is at dir/N.wasm.
func Build(pkgs map[string]string) (dir string, err error) {
	dir, err = os.MkdirTemp("", "parigot-test-guests")
	if err != nil {
		return "", err
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for name, pkg := range pkgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name+".wasm"), pkg)
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			if out, err := cmd.CombinedOutput(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("building test guest %s: %v\n%s", name, err, out))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return "", errs[0]
	}
	return dir, nil
}
