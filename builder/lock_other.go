//go:build !unix

package builder

// lockApp is a no-op where flock is not available.
func lockApp(string) (func(), error) { return func() {}, nil }
