package observe

import "io/fs"

// sub is fs.Sub of an embedded directory, which cannot fail.
func sub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // a directory embedded at build time is always there
	}
	return s
}
