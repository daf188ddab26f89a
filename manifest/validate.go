package manifest

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"parigot.dev/parigot/internal/suggest"
)

// checkRequires reports requires entries that do not name a declared service
// other than the guest itself.
func (d *decoder) checkRequires() {
	for _, g := range d.app.Guests() {
		for i, r := range g.Requires {
			rng := g.RequiresRanges[i]
			target := d.guests[r]
			switch {
			case target == g:
				d.errf(rng, "Service requires itself",
					"Remove service.%s from its own requires: requires lists the other services %q calls, which are started before it.", r, r)
			case target == nil && d.undecoded["service."+r]:
				// The block declaring it has an error of its own.
			case target == nil:
				detail := fmt.Sprintf("requires lists services declared in %s, and none is named %q.", FileName, r)
				if s := suggest.Closest(r, d.serviceNames()); s != "" {
					detail += fmt.Sprintf(" Did you mean service.%s?", s)
				}
				detail += fmt.Sprintf(" Fix the name, or declare the service with a service %q block.", r)
				d.errf(rng, fmt.Sprintf("No service named %q is declared", r), "%s", detail)
			case target.Kind == KindProgram:
				d.errf(rng, "A program cannot be required",
					"%q is a program, not a service: programs make calls but answer none, so nothing can depend on them. requires lists services only.", r)
			}
		}
	}
}

func (d *decoder) serviceNames() []string {
	names := make([]string, 0, len(d.app.Services))
	for _, s := range d.app.Services {
		names = append(names, s.Name)
	}
	return names
}

// checkCycles reports each cycle among the services' requires once, at the
// requires entry that closes it.
func (d *decoder) checkCycles() {
	const (
		unseen = iota
		onStack
		done
	)
	state := map[*Guest]int{}
	var stack []*Guest
	var visit func(g *Guest)
	visit = func(g *Guest) {
		state[g] = onStack
		stack = append(stack, g)
		for i, r := range g.Requires {
			t := d.guests[r]
			if t == nil || t == g || t.Kind != KindService {
				continue // reported by checkRequires
			}
			switch state[t] {
			case unseen:
				visit(t)
			case onStack:
				var names []string
				for j := len(stack) - 1; j >= 0; j-- {
					if stack[j] == t {
						for _, s := range stack[j:] {
							names = append(names, s.Name)
						}
						break
					}
				}
				names = append(names, t.Name)
				d.errf(g.RequiresRanges[i], "Cycle in requires",
					"These services require each other in a cycle: %s. A service starts after the services it requires, so none of them could ever start; remove one of these requires entries.",
					strings.Join(names, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		state[g] = done
	}
	for _, s := range d.app.Services {
		if state[s] == unseen {
			visit(s)
		}
	}
}

// checkSource reports a guest source that is not a directory holding a Go
// main package.
func (d *decoder) checkSource(g *Guest) {
	rng := g.SourceRange
	if strings.TrimSpace(g.Source) == "" {
		d.errf(rng, "Empty source",
			`source is the app-relative directory of the %s's Go main package, for example source = "./%s".`, g.Kind, g.Name)
		return
	}
	if !d.checkAppPath("source", g.Source, rng, "source = %q", "./"+g.Name) {
		return
	}
	fi, err := os.Stat(g.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.errf(rng, "Source directory not found",
			"source = %q is %s, which does not exist. source is relative to the app directory (%s); create the directory with a Go main package in it (parigot generate writes the Go code of the protos it implements first), or fix the path.",
			g.Source, g.Dir, d.app.Dir)
		return
	case err != nil:
		d.errf(rng, "Cannot read source directory", "Checking source = %q failed: %v.", g.Source, err)
		return
	case !fi.IsDir():
		d.errf(rng, "Source is not a directory",
			"source = %q is %s, which is a file. source names the directory of a Go main package, for example source = %q.",
			g.Source, g.Dir, "./"+g.Name)
		return
	}
	entries, err := os.ReadDir(g.Dir)
	if err != nil {
		d.errf(rng, "Cannot read source directory", "Listing source = %q failed: %v.", g.Source, err)
		return
	}
	var (
		goFiles  int
		otherPkg string // a package clause that is not main, "name (file)"
		fset     = token.NewFileSet()
	)
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") ||
			strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			continue
		}
		file := filepath.Join(g.Dir, name)
		// Stat follows symlinks; skip directories, pipes and the like.
		if fi, err := os.Stat(file); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		goFiles++
		f, err := parser.ParseFile(fset, file, nil, parser.PackageClauseOnly)
		if err != nil || f.Name == nil {
			continue
		}
		if f.Name.Name == "main" {
			return
		}
		if otherPkg == "" {
			otherPkg = fmt.Sprintf("package %s (in %s)", f.Name.Name, name)
		}
	}
	switch {
	case goFiles == 0:
		d.errf(rng, "No Go files in source",
			"source = %q (%s) holds no Go files other than tests. Put the %s's main package there: a .go file with package main and a func main.",
			g.Source, g.Dir, g.Kind)
	case otherPkg != "":
		d.errf(rng, "Source is not a main package",
			"source = %q holds %s, but a %s is built from a Go main package. Change its package clause to package main, or point source at the directory of the main package.",
			g.Source, otherPkg, g.Kind)
	default:
		d.errf(rng, "Source is not a main package",
			"No Go file in source = %q has a readable package clause. A %s needs a main package: a .go file starting with package main.",
			g.Source, g.Kind)
	}
}

// checkAppPath reports p, a path of the manifest (what says which: source,
// root, proto file), unless it follows the rule for paths: relative to the
// app directory, written with "/", and inside the app directory. The
// diagnostic shows a valid value, fmt.Sprintf(format, example), or the path
// with "/" where it was written with "\\".
func (d *decoder) checkAppPath(what, p string, rng hcl.Range, format, example string) bool {
	var summary, problem string
	clean := path.Clean(p)
	switch {
	case strings.Contains(p, `\`):
		summary, problem = "Backslash in "+what+" path", `is written with "\\"`
		example = strings.ReplaceAll(p, `\`, "/")
	case path.IsAbs(p) || filepath.IsAbs(p) || isDriveLetterPath(p):
		summary, problem = "Absolute "+what+" path", "is absolute"
	case clean == ".." || strings.HasPrefix(clean, "../"):
		summary, problem = what+" path outside the app directory", "leads out of the app directory"
	default:
		return true
	}
	d.errf(rng, strings.ToUpper(summary[:1])+summary[1:],
		`%s %q %s. Paths in %s are relative to its directory, written with "/", and stay inside it, so that the app is one directory that builds wherever it is copied. For example %s.`,
		what, p, problem, FileName, fmt.Sprintf(format, example))
	return false
}

// isDriveLetterPath reports whether p starts like a Windows path with a drive
// letter ("C:/x", "c:x"), which is absolute, or relative to a drive's own
// current directory: neither is relative to the app directory.
func isDriveLetterPath(p string) bool {
	return len(p) >= 2 && p[1] == ':' && ('a' <= p[0]|0x20 && p[0]|0x20 <= 'z')
}

// checkProtoRoot reports a proto root that is not a directory: a proto
// block's root, or the path of a module of the buf.yaml bufFile (when not
// empty), as the user wrote it (written).
func (d *decoder) checkProtoRoot(root, written, bufFile string, rng hcl.Range) bool {
	what, fix := fmt.Sprintf("root = %q", root), "fix the path or remove root to use the app directory"
	if bufFile != "" {
		what, fix = fmt.Sprintf("The module path %q of %s", written, bufFile), "fix the module's path in the buf.yaml, or remove the module"
	}
	if bufFile == "" && !d.checkAppPath("root", root, rng, "root = %q", "proto") {
		return false
	}
	dir := filepath.Join(d.app.Dir, filepath.FromSlash(root))
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.errf(rng, "Proto root not found",
			"%s is %s, which does not exist. A proto root is the directory, relative to the app directory, that proto imports are relative to; %s.",
			what, dir, fix)
		return false
	case err != nil:
		d.errf(rng, "Cannot read proto root", "Checking %s failed: %v.", what, err)
		return false
	case !fi.IsDir():
		d.errf(rng, "Proto root is not a directory",
			"%s is %s, which is a file. A proto root is the directory that proto imports are relative to; %s.",
			what, dir, fix)
		return false
	}
	return true
}

// checkProtoFile reports a files entry that is not an existing .proto file
// under the block's root.
func (d *decoder) checkProtoFile(f string, rng hcl.Range, p *Proto, rootOK bool) {
	if !strings.HasSuffix(f, ".proto") {
		d.errf(rng, "Not a .proto file",
			"%q does not end in .proto. files lists proto source files, relative to the app directory, for example \"proto/%s/v1/%s.proto\".", f, p.Name, p.Name)
		return
	}
	if !d.checkAppPath("proto file", f, rng, "%q", "proto/"+p.Name+"/v1/"+p.Name+".proto") {
		return
	}
	file := filepath.Join(d.app.Dir, filepath.FromSlash(f))
	fi, err := os.Stat(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.errf(rng, "Proto file not found",
			"%q is %s, which does not exist. Paths in files are relative to the app directory (%s); fix the path or create the file.", f, file, d.app.Dir)
		return
	case err != nil:
		d.errf(rng, "Cannot read proto file", "Checking %q failed: %v.", f, err)
		return
	case fi.IsDir():
		d.errf(rng, "Proto file is a directory",
			"%q is a directory; list the .proto files in it one by one.", f)
		return
	}
	if !rootOK || p.Root == "." {
		return
	}
	rel, err := filepath.Rel(filepath.FromSlash(p.Root), filepath.Clean(filepath.FromSlash(f)))
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		d.errf(rng, "Proto file outside root",
			"%q is not under root %q (line %d). Proto files are compiled, and import each other, by their path relative to root, so each file must be inside it; move the file or change root.",
			f, p.Root, p.RootRange.Start.Line)
	}
}

// CheckImplements reports each implements entry naming a service not in
// defined (full proto names of services defined by the compiled proto files),
// at that entry's range. The detail lists the services that are defined and
// suggests the closest name.
func (a *App) CheckImplements(defined map[string]bool) hcl.Diagnostics {
	var names []string
	for n, ok := range defined {
		if ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var diags hcl.Diagnostics
	for _, s := range a.Services {
		for i, impl := range s.Implements {
			if defined[impl] {
				continue
			}
			rng := s.DeclRange
			if i < len(s.ImplementsRanges) {
				rng = s.ImplementsRanges[i]
			}
			var detail string
			if len(names) == 0 {
				detail = fmt.Sprintf("Service %q implements %s, but no declared proto file defines any service. Add the service definition to a proto file and list that file in a proto block.", s.Name, impl)
			} else {
				detail = fmt.Sprintf("Service %q implements %s, but no declared proto file defines it. The declared proto files define: %s.", s.Name, impl, strings.Join(names, ", "))
				if c := suggest.Closest(impl, names); c != "" {
					detail += fmt.Sprintf(" Did you mean %q?", c)
				} else {
					detail += " Fix the name, or list the proto file that defines it in a proto block."
				}
			}
			diags = append(diags, errAt(rng, fmt.Sprintf("Unknown proto service %q", impl), detail))
		}
	}
	return diags
}
