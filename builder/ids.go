package builder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"parigot.dev/parigot/boilerplateid"
	"parigot.dev/parigot/codegen"
	"parigot.dev/parigot/internal/genfile"
	"parigot.dev/parigot/manifest"
)

// parigotModule is the module of parigot itself, whose parigot.hcl declares
// the built-in Id types and so may use their letters.
const parigotModule = "parigot.dev/parigot"

// idFile is the generated code of one id block.
type idFile struct {
	dir     string // app-relative, slash-separated package directory
	abs     string // absolute file name
	content []byte
}

// generateIds writes the Go code of app's id blocks (boilerplateid), each
// file only when its content changed, and removes the files of id blocks
// that are gone or moved to another package. types are the Go types codegen
// generated from the app's protos, checked for clashes with the Id types.
func generateIds(app *manifest.App, types []codegen.GoType, appDirs []string) (files, written, removed []string, diags hcl.Diagnostics) {
	out, diags := idFiles(app, types)
	if diags.HasErrors() {
		return nil, nil, nil, diags
	}
	fail := func(summary string, err error) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: err.Error()})
	}
	keep := map[string]bool{}
	for _, f := range out {
		files = append(files, f.abs)
		keep[f.abs] = true
		changed, err := genfile.WriteIfChanged(f.abs, f.content)
		if err != nil {
			fail("Cannot write generated Id type", err)
			continue
		}
		if changed {
			written = append(written, f.abs)
		}
	}
	if diags.HasErrors() {
		return files, written, nil, diags
	}
	removed, err := removeStaleIds(app, appDirs, keep)
	if err != nil {
		fail("Cannot remove the file of a removed Id type", err)
	}
	slices.Sort(removed)
	return files, written, removed, diags
}

// idFiles generates, without writing, the code of every id block of app, and
// reports reserved letters and clashes with generated proto types.
func idFiles(app *manifest.App, types []codegen.GoType) ([]idFile, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	known := make([]boilerplateid.Spec, 0, len(app.Ids))
	for _, t := range app.Ids {
		known = append(known, boilerplateid.Spec{Name: t.Name, Letter: t.Letter})
	}
	var out []idFile
	for _, t := range app.Ids {
		d := checkIdType(app, t, types)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		dir := idPackageDir(t)
		src, err := boilerplateid.Generate(boilerplateid.Spec{Name: t.Name, Letter: t.Letter, Package: idPackageName(app, dir, types), Known: known, App: app.Name})
		if err != nil {
			rng := t.DeclRange
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot generate Id type", Detail: err.Error(), Subject: &rng})
			continue
		}
		abs := filepath.Join(app.Dir, filepath.FromSlash(dir), boilerplateid.FileName(t.Name))
		out = append(out, idFile{dir: dir, abs: abs, content: src})
	}
	return out, diags
}

// idPackageName is the Go package name of the Id types generated into dir
// (app-relative): that of the proto code generated there, if any, since a
// directory holds one Go package; otherwise dir's last element.
func idPackageName(app *manifest.App, dir string, types []codegen.GoType) string {
	pkg := app.Module + "/" + dir
	for _, gt := range types {
		if gt.GoImportPath == pkg && gt.GoPackageName != "" {
			return gt.GoPackageName
		}
	}
	return path.Base(dir)
}

// idPackageDir is the app-relative directory t is generated into.
func idPackageDir(t *manifest.IdType) string {
	if t.Package != "" {
		return t.Package
	}
	return manifest.DefaultIdPackage
}

// checkIdType reports a letter reserved by a built-in Id type, and proto
// types whose Go names clash with what is generated for t.
func checkIdType(app *manifest.App, t *manifest.IdType, types []codegen.GoType) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if b, ok := boilerplateid.Builtin(t.Letter); ok && app.Module != parigotModule {
		rng := t.LetterRange
		var letters []string
		for _, b := range boilerplateid.Builtins() {
			letters = append(letters, b.Letter)
		}
		sort.Strings(letters)
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Reserved Id letter",
			Detail: fmt.Sprintf("The letter %q belongs to parigot's built-in %s, so an Id string such as %q would not tell the two apart. Pick another letter for %s; the built-in types use %s.",
				t.Letter, b.TypeName(), t.Letter+"-…", t.Name+"Id", strings.Join(letters, ", ")),
			Subject: &rng,
		})
	}
	typ := t.Name + "Id"
	pkg := app.Module + "/" + idPackageDir(t)
	generated := map[string]bool{typ: true, "New" + typ: true, "Parse" + typ: true, typ + "Zero": true, typ + "Empty": true, typ + "FromProto": true}
	for _, gt := range types {
		samePkg := gt.GoImportPath == pkg
		if gt.GoName != typ && !(samePkg && generated[gt.GoName]) {
			continue
		}
		rng := t.DeclRange
		where := "another package"
		if samePkg {
			where = "the same Go package (" + pkg + ")"
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Id type clashes with a proto type",
			Detail: fmt.Sprintf("id %q generates %s, and the proto type %s (in %s) generates the Go name %s in %s. Rename the proto type (to carry an Id in a message, use the field type parigot.id.v1.Id and convert with %s.Proto and %sFromProto), or rename this id block.",
				t.Name, typ, gt.ProtoName, gt.File, gt.GoName, where, typ, typ),
			Subject: &rng,
		})
	}
	return diags
}

// removeStaleIds removes the files of id blocks that were removed or moved
// from app: the *_id.go files that say they were generated from an id block
// of app (boilerplateid.FromBlockOf) and that keep does not hold.
// It returns them, and removes each directory that this left empty.
//
// A deleted block's package could have been any directory of the app, so
// it looks in all of appDirs (genfile.AppDirs: not build/, nor other apps
// or modules inside the app, such as an example inside parigot's own
// tree). It takes only files of app's id
// blocks: a file of parigot id, which starts with the same header, another
// app's, or anyone else's stays, wherever it is.
func removeStaleIds(app *manifest.App, appDirs []string, keep map[string]bool) (removed []string, err error) {
	for _, dir := range appDirs {
		names, err := filepath.Glob(filepath.Join(dir, "*_id.go"))
		if err != nil {
			return removed, err
		}
		gone := false
		for _, p := range names {
			if keep[p] {
				continue
			}
			b, err := os.ReadFile(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return removed, err
			}
			if !boilerplateid.FromBlockOf(b, app.Name) {
				continue // not a file of this app's id blocks: leave it alone
			}
			if err := os.Remove(p); err != nil {
				return removed, err
			}
			removed = append(removed, p)
			gone = true
		}
		if gone {
			os.Remove(dir) // fails, as it should, unless it is empty
		}
	}
	return removed, nil
}
