package manifest

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/mod/modfile"
)

// CheckGoModule reports, at the module attribute, an app whose module is
// not the import path its directory has in the Go module around it (the
// go.mod in the app's directory or the nearest one above it), or that lies
// in no Go module at all. Generated code is written under module and
// imported by that path, so a module that does not match go.mod builds
// against stale or missing packages and ends in the go command's errors. A
// go.mod the go command cannot read is left to it.
func (a *App) CheckGoModule() hcl.Diagnostics {
	if a.Module == "" {
		return nil // reported already
	}
	modDir, data := findGoMod(a.Dir)
	if data == nil {
		return hcl.Diagnostics{errAt(a.ModuleRange, "App outside any Go module",
			fmt.Sprintf("There is no go.mod in %s or above it, so Go cannot build the app's guests. Create one in the app's directory with go mod init %s, then require parigot.dev/parigot as the go.mod of an app made by parigot init does.",
				a.Dir, a.Module))}
	}
	f, err := modfile.ParseLax(filepath.Join(modDir, "go.mod"), data, nil)
	if err != nil || f.Module == nil {
		return nil
	}
	want := f.Module.Mod.Path
	if rel, _ := filepath.Rel(modDir, a.Dir); rel != "." {
		want += "/" + filepath.ToSlash(rel)
	}
	if a.Module == want {
		return nil
	}
	return hcl.Diagnostics{errAt(a.ModuleRange, "Module does not match go.mod",
		fmt.Sprintf("module is %q, but %s declares module %s, which makes the app's directory %s: generated code is imported by the module's path, so the two must agree. Set module = %q, or change go.mod's module line (and the imports that use it).",
			a.Module, filepath.Join(modDir, "go.mod"), f.Module.Mod.Path, want, want))}
}

// findGoMod returns the directory of the go.mod in dir or the nearest one
// above it, and its content; nil content when there is none.
func findGoMod(dir string) (string, []byte) {
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			return dir, data
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", nil
		}
		dir = parent
	}
}
