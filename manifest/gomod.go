package manifest

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/mod/modfile"

	"parigot.dev/parigot/internal/buildinfo"
	"parigot.dev/parigot/internal/srctree"
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
	gomod := filepath.Join(modDir, "go.mod")
	f, err := modfile.ParseLax(gomod, data, nil)
	if err != nil || f.Module == nil {
		return nil
	}
	want := f.Module.Mod.Path
	if rel, _ := filepath.Rel(modDir, a.Dir); rel != "." {
		want += "/" + filepath.ToSlash(rel)
	}
	if a.Module != want {
		return hcl.Diagnostics{errAt(a.ModuleRange, "Module does not match go.mod",
			fmt.Sprintf("module is %q, but %s declares module %s, which makes the app's directory %s: generated code is imported by the module's path, so the two must agree. Set module = %q, or change go.mod's module line (and the imports that use it).",
				a.Module, gomod, f.Module.Mod.Path, want, want))}
	}
	// ParseLax skips replace lines: the main module's go.mod is read in
	// full for them, and one the go command would refuse is left to it.
	if f, err = modfile.Parse(gomod, data, nil); err != nil {
		return nil
	}
	shown := gomod // as the user named the app's directory, for its diagnostics
	if rel, err := filepath.Rel(a.Dir, modDir); err == nil && !filepath.IsAbs(a.File) {
		shown = filepath.Join(filepath.Dir(a.File), rel, "go.mod")
	}
	f.Syntax.Name = shown
	diags := checkParigotRequired(f, modDir)
	if len(diags) > 0 {
		a.Sources.Add(shown, data)
	}
	return diags
}

// checkParigotRequired reports, in go.mod, a module that does not require
// parigot or that takes it from no parigot source tree. Generated code and
// guests import parigot.dev/parigot, which the Go module proxy does not
// serve: without a replace line naming a checkout, the go command fails on
// every guest with advice (go get) that cannot work. A go.work around the
// module may provide parigot itself, so it is left to the go command. A
// replace naming another parigot tree than the one this parigot was built
// from is a warning: its guests would be compiled against one parigot's
// library and run by another parigot's host (an app made before an
// upgrade, still pointing at the old checkout).
func checkParigotRequired(f *modfile.File, modDir string) hcl.Diagnostics {
	if f.Module.Mod.Path == srctree.Module || inWorkspace(modDir) {
		return nil
	}
	fix := "Point it at a parigot checkout with\n  go mod edit -replace " + srctree.Module + "=DIR\nwhere DIR is the checkout's root"
	if dir := srctree.BuiltFrom(); dir != "" {
		fix += fmt.Sprintf(" (this parigot was built from %s)", dir)
	}
	fix += "; parigot init writes these lines for a new app."
	var req *modfile.Require
	for _, r := range f.Require {
		if r.Mod.Path == srctree.Module {
			req = r
		}
	}
	if req == nil {
		return hcl.Diagnostics{errAt(modRange(f.Syntax.Name, f.Module.Syntax), "go.mod does not require parigot",
			fmt.Sprintf("The generated code and the guests import %s, so go.mod must require it:\n  go mod edit -require %s@v0.0.0\n%s", srctree.Module, srctree.Module, fix))}
	}
	var rep *modfile.Replace
	for _, r := range f.Replace {
		if r.Old.Path == srctree.Module && (r.Old.Version == "" || r.Old.Version == req.Mod.Version) {
			rep = r
		}
	}
	switch {
	case rep == nil && req.Mod.Version == "v0.0.0":
		return hcl.Diagnostics{errAt(modRange(f.Syntax.Name, req.Syntax), "parigot is not replaced with a source tree",
			fmt.Sprintf("go.mod requires %s v0.0.0 and replaces it with nothing, and the Go module proxy does not serve it: the go command cannot find parigot's packages. %s", srctree.Module, fix))}
	case rep == nil || rep.New.Version != "":
		return nil // a published version, or a module the go command resolves
	}
	dir := rep.New.Path
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(modDir, dir)
	}
	tree, err := srctree.Check(dir)
	if err != nil {
		return hcl.Diagnostics{errAt(modRange(f.Syntax.Name, rep.Syntax), "parigot is replaced with no parigot source tree",
			fmt.Sprintf("go.mod replaces %s with %s, but %v. %s", srctree.Module, rep.New.Path, err, fix))}
	}
	built := srctree.BuiltFrom()
	if built != "" && srctree.Same(tree, built) {
		return installedBehind(f, rep, tree)
	}
	if built != "" {
		return hcl.Diagnostics{{
			Severity: hcl.DiagWarning,
			Summary:  "parigot's library is from another tree than this parigot",
			Detail: fmt.Sprintf("go.mod takes %s from %s, but this parigot was built from %s: the guests are compiled against the one and run by the other, which may not work together (a guest the host cannot load, a note of the host that does not apply). "+
				"After upgrading parigot, point the app at its tree with\n  go mod edit -replace %s=%s\nand build again; or run the parigot built from %s.",
				srctree.Module, tree, built, srctree.Module, built, tree),
			Subject: rangePtr(modRange(f.Syntax.Name, rep.Syntax)),
		}}
	}
	return nil
}

// builtRevision is the commit this parigot was built from, or "" (see
// buildinfo.Parigot); a test sets it.
var builtRevision = func() string { return buildinfo.Read().Revision }

// installedBehind warns, at go.mod's replace of parigot with tree, the
// tree this parigot was built from, when the tree has another commit
// checked out than the one the command was built from: a git pull
// without installing the command again, which compiles the guests
// against the new library and runs them with the old host. Nothing is
// said when either commit is not known (a command built by go run, or a
// tree without git).
func installedBehind(f *modfile.File, rep *modfile.Replace, tree string) hcl.Diagnostics {
	built := builtRevision()
	if built == "" {
		return nil
	}
	head := srctree.Head(tree)
	if head == "" || head == built {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagWarning,
		Summary:  "this parigot was built from another commit of its tree",
		Detail: fmt.Sprintf("it was built from commit %s of %s, which now has commit %s checked out: the guests are compiled against the tree's library and run by the command's older host, which may not work together. "+
			"Install the command again from the tree:\n  cd %s && go install ./cmd/parigot",
			shortCommit(built), tree, shortCommit(head), tree),
		Subject: rangePtr(modRange(f.Syntax.Name, rep.Syntax)),
	}}
}

func shortCommit(c string) string { return c[:min(12, len(c))] }

func rangePtr(r hcl.Range) *hcl.Range { return &r }

// inWorkspace says whether the go command builds the module in modDir as
// part of a workspace: GOWORK names a go.work, or one lies in modDir or
// above it.
func inWorkspace(modDir string) bool {
	switch gowork := os.Getenv("GOWORK"); gowork {
	case "off":
		return false
	case "":
	default:
		return true
	}
	for dir := modDir; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return false
		}
		dir = parent
	}
}

// modRange is the range of a go.mod line, for a diagnostic.
func modRange(file string, l *modfile.Line) hcl.Range {
	if l == nil {
		return hcl.Range{Filename: file, Start: hcl.InitialPos, End: hcl.InitialPos}
	}
	return hcl.Range{
		Filename: file,
		Start:    hcl.Pos{Line: l.Start.Line, Column: l.Start.LineRune, Byte: l.Start.Byte},
		End:      hcl.Pos{Line: l.End.Line, Column: l.End.LineRune, Byte: l.End.Byte},
	}
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
