//go:build !unix

package tempdir

// ended cannot tell here, so every directory is taken to belong to a
// process that still runs and is left.
func ended(int) bool { return false }
