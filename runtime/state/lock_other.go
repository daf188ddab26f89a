//go:build !unix

package state

// lockDir does not hold dir where flock(2) is missing.
func lockDir(dir string) (unlock func(), err error) { return func() {}, nil }
