package codegen

import (
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"google.golang.org/protobuf/types/pluginpb"

	"parigot.dev/parigot/internal/genfile"
)

// siblingSuffixes end the names of the files parigot writes beside a
// proto's <name>.pb.go, each for some protos only: stubs and native clients
// for those that define services, typed errors for those that declare
// some, fast marshalling for those vtprotobuf serves.
var siblingSuffixes = []string{stubSuffix, nativeSuffix, errorsSuffix, vtSuffix}

// write puts the response's files into the app directory, each only when its
// content differs from what is there, and then removes from each directory
// of the app the generated files this compilation no longer produces (see
// removeStale). Left in place, they would not compile, or would be
// compiled in the new ones' place: the typed errors of a proto whose last
// error message is gone name a type that is no more, the files of a
// renamed proto declare its messages a second time, and those of a proto
// whose go_package changed, or that the app dropped, are still imported
// by guests not yet changed.
//
// Generate is given every proto of the app (builder.generate passes all
// the proto blocks of parigot.hcl), so a file of the app that it does not
// produce now is one no proto of the app produces.
func (c *compilation) write(resp *pluginpb.CodeGeneratorResponse, res *Result) hcl.Diagnostics {
	var diags hcl.Diagnostics
	fail := func(summary string, err error) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: err.Error()})
	}
	prefix := c.in.Module + "/"
	keep := map[string]bool{}
	var dirs []string
	for _, f := range resp.GetFile() {
		name := f.GetName()
		if f.GetInsertionPoint() != "" || !strings.HasPrefix(name, prefix) || strings.Contains(name, "..") {
			fail("Generated file outside the app", fmt.Errorf("the generator produced %s, which is not below the module %s", name, c.in.Module))
			continue
		}
		abs := filepath.Join(c.in.AppDir, filepath.FromSlash(strings.TrimPrefix(name, prefix)))
		res.Files = append(res.Files, abs)
		keep[abs] = true
		if dir := filepath.Dir(abs); !slices.Contains(dirs, dir) {
			dirs = append(dirs, dir)
		}
		changed, err := genfile.WriteIfChanged(abs, []byte(f.GetContent()))
		if err != nil {
			fail("Cannot write generated file", err)
			continue
		}
		if changed {
			res.Written = append(res.Written, abs)
		}
	}
	if diags.HasErrors() {
		return diags // what is there may yet be needed
	}
	return append(diags, c.in.removeStaleFiles(dirs, keep, res)...)
}

// removeStaleFiles removes the generated files that keep does not hold
// from dirs, where this compilation wrote, and from the app's other
// directories: those of a proto whose go_package changed, or that is no
// longer among the app's (every one of them, when the app has no proto
// left). See removeStale for which files are parigot's to remove.
func (in Input) removeStaleFiles(dirs []string, keep map[string]bool, res *Result) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, dir := range in.AppDirs {
		if !slices.Contains(dirs, dir) {
			dirs = append(dirs, dir)
		}
	}
	for _, dir := range dirs {
		removed, err := removeStale(dir, keep)
		res.Removed = append(res.Removed, removed...)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot remove stale generated file", Detail: err.Error()})
		}
	}
	return diags
}

// removeStale removes the generated files in dir that keep does not hold,
// returning them, but only files parigot wrote:
//
//   - a .pb.go file with parigot's header line (stubHeader) among the
//     comments above its package clause, where Go looks for the line that
//     says a file is generated: parigot alone writes that line, and writes
//     it in every file it generates from the protos (its stubs, native
//     clients and typed errors, and the messages and fast marshalling that
//     protoc-gen-go and vtprotobuf generate for it: see ownHeader), so a
//     renamed proto of any syntax takes all of its files;
//   - a <name>.pb.go with protoc-gen-go's own header, as parigot wrote
//     message files before it gave them its header, only when one of the
//     parigot files just removed is its sibling (<name>_parigot.pb.go,
//     <name>_vtproto.pb.go...) and was generated from the same .proto
//     (the same "// source:" line): parigot wrote a sibling only beside a
//     <name>.pb.go it wrote itself, so the pair says the message file is
//     parigot's, where protoc-gen-go's header alone would not tell it from
//     the user's (buf generate into a directory of their own, a vendored
//     file).
//
// Any other file stays, whatever its name: what the user wrote or
// generated with other tools is not parigot's to remove.
func removeStale(dir string, keep map[string]bool) (removed []string, err error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.pb.go"))
	if err != nil {
		return nil, err
	}
	sources := map[string]string{} // removed sibling's <name>.pb.go -> its source
	for _, name := range names {
		if keep[name] {
			continue
		}
		b, err := readGenerated(name)
		if err != nil {
			return removed, err
		}
		if !hasHeaderLine(b, stubHeader) {
			continue // not parigot's own file
		}
		if err := os.Remove(name); err != nil {
			return removed, err
		}
		removed = append(removed, name)
		for _, suffix := range siblingSuffixes {
			if stem, ok := strings.CutSuffix(name, suffix); ok {
				if src := sourceOf(b); src != "" {
					sources[stem+".pb.go"] = src
				}
				break
			}
		}
	}
	for _, name := range names {
		src, ok := sources[name]
		if !ok || keep[name] {
			continue
		}
		b, err := readGenerated(name)
		if err != nil {
			return removed, err
		}
		if !hasHeaderLine(b, messageHeader) || sourceOf(b) != src {
			continue // not the message file of the same proto
		}
		if err := os.Remove(name); err != nil {
			return removed, err
		}
		removed = append(removed, name)
	}
	slices.Sort(removed)
	return removed, nil
}

// readGenerated reads a generated file; one that is gone is empty.
func readGenerated(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// sourceOf is the proto file a generated file says it was generated from:
// its "// source: " line, among the comments above its package clause.
func sourceOf(b []byte) string {
	for line := range headerLines(b) {
		if src, ok := strings.CutPrefix(line, "// source: "); ok {
			return src
		}
	}
	return ""
}

// hasHeaderLine reports whether want is one of the comment lines above
// the package clause of the Go source b.
func hasHeaderLine(b []byte, want string) bool {
	for line := range headerLines(b) {
		if line == want {
			return true
		}
	}
	return false
}

// headerLines are the lines of the Go source b before its first line that
// is neither blank nor a // comment: where Go looks for the line that
// says a file is generated ("// Code generated ... DO NOT EDIT."), and
// generators write which file they generated it from.
func headerLines(b []byte) iter.Seq[string] {
	return func(yield func(string) bool) {
		for line := range strings.Lines(string(b)) {
			line = strings.TrimRight(line, "\r\n")
			if line != "" && !strings.HasPrefix(line, "//") {
				return
			}
			if !yield(line) {
				return
			}
		}
	}
}
