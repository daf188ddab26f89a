//go:build !unix

package compcache

import (
	"errors"
	"os"
)

// tryLock: no file locks here; every process compiles for itself.
func tryLock(*os.File) (bool, error) { return false, errors.ErrUnsupported }
