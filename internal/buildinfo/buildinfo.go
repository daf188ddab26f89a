// Package buildinfo says which parigot this binary is, from what the go
// command recorded in it as it built it (runtime/debug.BuildInfo): its
// version, the commit it was built from, and the Go and wazero it was
// built with. It is the one reader of that record; how each caller shows
// it (parigot version, a build's record, the check of an app's go.mod) is
// the caller's.
//
// It does not say which source tree the binary was built from: that is
// package srctree's.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Unknown is a version the binary does not record.
const Unknown = "(unknown)"

// wazeroModule is the module of wazero, the runtime that runs the guests.
const wazeroModule = "github.com/tetratelabs/wazero"

// Parigot is what the go command recorded of a parigot binary.
type Parigot struct {
	// Version is parigot's module version: a release's, "(devel)" for a
	// build of a checkout (go build, go install, go run in it), Unknown
	// when the binary records none.
	Version string
	// Revision is the commit it was built from, and "" when the go
	// command recorded none (go run, -buildvcs=false, a test binary, a
	// tree without git).
	Revision string
	// Modified says that the checkout had changes not committed.
	Modified bool
	// Go is the Go version that compiled it.
	Go string
	// Wazero is the version of wazero compiled into it (a replacement's,
	// when go.mod replaces it), Unknown when the binary records none.
	Wazero string
}

// Read is what the go command recorded of this binary.
func Read() Parigot {
	info, _ := debug.ReadBuildInfo()
	return From(info)
}

// From is what info records of a parigot binary; info may be nil (a
// binary that records nothing).
func From(info *debug.BuildInfo) Parigot {
	p := Parigot{Version: Unknown, Go: runtime.Version(), Wazero: Unknown}
	if info == nil {
		return p
	}
	if info.Main.Version != "" {
		p.Version = info.Main.Version
	}
	if info.GoVersion != "" {
		p.Go = info.GoVersion
	}
	for _, d := range info.Deps {
		if d.Path == wazeroModule {
			if d.Replace != nil {
				d = d.Replace
			}
			p.Wazero = d.Version
		}
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			p.Revision = s.Value
		case "vcs.modified":
			p.Modified = s.Value == "true"
		}
	}
	return p
}

// String names the binary in one line: its version, then its commit
// when recorded, then "(modified)" when the checkout had changes, as in
// "(devel) 8b100d9c0ffee0123456789 (modified)".
func (p Parigot) String() string {
	s := p.Version
	if p.Revision != "" {
		s += " " + p.Revision
	}
	if p.Modified {
		s += " (modified)"
	}
	return s
}
