package builder

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"parigot.dev/parigot/codegen"
	"parigot.dev/parigot/internal/diag"
	"parigot.dev/parigot/manifest"
)

// DiagnosticsError carries manifest or proto mistakes, to be rendered with
// their sources (diag.Write).
type DiagnosticsError struct {
	Diags   hcl.Diagnostics
	Sources diag.Sources
}

func (e *DiagnosticsError) Error() string {
	errs := e.Diags.Errs()
	if len(errs) == 1 {
		return errs[0].Error()
	}
	return fmt.Sprintf("%d errors, the first: %v", len(errs), errs[0])
}

// CompileError is a guest that the Go compiler rejected.
type CompileError struct {
	Guest  string
	Output string // the go command's output, its files' paths as the user named the app (see fromAppDir)
	// Hints say what parigot knows of the mistakes the output reports
	// (see typedErrorHints), shown after it; Sources holds the files they
	// point into.
	Hints   hcl.Diagnostics
	Sources diag.Sources
}

// compileError is the CompileError of guest whose go build, run in the
// app's directory appDir, printed output; dir is the app's directory as
// the user named it (Options.Dir), gen the code generated for the app.
func compileError(guest, output, appDir, dir string, gen *codegen.Result) *CompileError {
	hints := append(typedErrorHints(output, appDir, gen), missingMethodHints(output, appDir, gen)...)
	e := &CompileError{Guest: guest, Output: fromAppDir(output, displayDir(dir)), Hints: hints}
	if len(e.Hints) > 0 {
		e.Sources = gen.Sources
	}
	return e
}

// undefinedName matches the compiler's report of a name that a package
// the code imports does not declare ("main.go:51:21: undefined:
// ordersv1.NewOutOfStockError"): the file, the package as the file names
// it, and the name. The go command gives a compile error as text only
// (go build -json carries these same lines), so the line is read; one it
// does not match gets no hint, and the compiler's words are shown as they
// are either way.
var undefinedName = regexp.MustCompile(`(?m)^\s*(\S+\.go):\d+:\d+: undefined: (\w+)\.(\w+)\s*$`)

// typedErrorHints are the hints of gen (codegen.Result.TypedErrorHint)
// for the names that output, the go command's output from building in
// dir, reports undefined in the packages generated from the app's protos:
// the message that would have them, were it a typed error.
func typedErrorHints(output, dir string, gen *codegen.Result) hcl.Diagnostics {
	if gen == nil {
		return nil
	}
	var hints hcl.Diagnostics
	imports := map[string]map[string]string{} // file -> its imports' names -> their paths
	for _, m := range undefinedName.FindAllStringSubmatch(output, -1) {
		file, pkg, name := m[1], m[2], m[3]
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		if _, ok := imports[file]; !ok {
			imports[file] = importNames(file, gen.Types)
		}
		path, ok := imports[file][pkg]
		if !ok {
			path = generatedPackage(pkg, gen.Types)
		}
		if h := gen.TypedErrorHint(path, name); h != nil && !slices.ContainsFunc(hints, func(o *hcl.Diagnostic) bool { return *o.Subject == *h.Subject }) {
			hints = append(hints, h)
		}
	}
	return hints
}

// missingMethod matches the compiler's report of a type that lacks a
// method of an interface ("main.go:12:17: cannot use &server{} (value of
// type *server) as shopv1.ShopServer value in argument to
// shopv1.RunShop: *server does not implement shopv1.ShopServer (missing
// method Farewell)"): the file, the type, and the interface's package
// and name. As for undefinedName, a line it does not match gets no hint.
var missingMethod = regexp.MustCompile(`(?m)^\s*(\S+\.go):\d+:\d+: .*\s(\*?\w+) does not implement (\w+)\.(\w+) \(missing method \w+\)`)

// missingMethodHints are the hints of gen (codegen.Result.MissingMethodHint)
// for the guests' types that output, the go command's output from building
// in dir, reports lacking a method of an interface generated from the
// app's protos: an rpc added to a .proto that its service has no method
// for yet. Each names every method the type lacks, read from the Go files
// of its package, with its signature written as the file names packages.
func missingMethodHints(output, dir string, gen *codegen.Result) hcl.Diagnostics {
	if gen == nil {
		return nil
	}
	var hints hcl.Diagnostics
	for _, m := range missingMethod.FindAllStringSubmatch(output, -1) {
		file, recvType, pkg, iface := m[1], m[2], m[3], m[4]
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		imports := importNames(file, gen.Types)
		path, ok := imports[pkg]
		if !ok {
			path = generatedPackage(pkg, gen.Types)
		}
		methods, recvName := methodsOf(filepath.Dir(file), strings.TrimPrefix(recvType, "*"))
		names := func(importPath, name string) string {
			for n, p := range imports {
				if p == importPath {
					return n
				}
			}
			return name
		}
		for _, h := range gen.MissingMethodHint(path, iface, methods, recvType, recvName, names) {
			if !slices.ContainsFunc(hints, func(o *hcl.Diagnostic) bool { return *o.Subject == *h.Subject }) {
				hints = append(hints, h)
			}
		}
	}
	return hints
}

// methodsOf returns the methods that the Go files of the package in dir
// (its tests left out) declare on the type named typ, with their
// signatures as the files write them, and the name their receiver takes
// (the first one's; else typ's initial).
func methodsOf(dir, typ string) ([]codegen.GoMethod, string) {
	var methods []codegen.GoMethod
	recv := strings.ToLower(typ[:1])
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	named := false
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || len(fn.Recv.List) != 1 {
				continue
			}
			t := fn.Recv.List[0].Type
			if star, ok := t.(*ast.StarExpr); ok {
				t = star.X
			}
			if id, ok := t.(*ast.Ident); !ok || id.Name != typ {
				continue
			}
			methods = append(methods, codegen.GoMethod{Name: fn.Name.Name, Params: fieldTypes(fn.Type.Params), Results: fieldTypes(fn.Type.Results)})
			if r := fn.Recv.List[0].Names; !named && len(r) == 1 && r[0].Name != "_" {
				recv, named = r[0].Name, true
			}
		}
	}
	return methods, recv
}

// fieldTypes is the type of each parameter (or result) of list, as the
// source writes it: one for each name ("a, b int" is two).
func fieldTypes(list *ast.FieldList) []string {
	if list == nil {
		return nil
	}
	var out []string
	for _, f := range list.List {
		for range max(1, len(f.Names)) {
			out = append(out, types.ExprString(f.Type))
		}
	}
	return out
}

// importNames maps the names by which the Go file file refers to the
// packages it imports to their import paths: the name an import gives,
// or the package's own (the generated packages' from types, the last
// element of the path for others). Empty when the file cannot be read.
func importNames(file string, types []codegen.GoType) map[string]string {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
	if err != nil {
		return nil
	}
	names := map[string]string{}
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		name := path.Base(p)
		if i := slices.IndexFunc(types, func(t codegen.GoType) bool { return t.GoImportPath == p }); i >= 0 {
			name = types[i].GoPackageName
		}
		if imp.Name != nil {
			name = imp.Name.Name
		}
		names[name] = p
	}
	return names
}

// generatedPackage is the import path of the generated package named
// name, or "".
func generatedPackage(name string, types []codegen.GoType) string {
	if i := slices.IndexFunc(types, func(t codegen.GoType) bool { return t.GoPackageName == name }); i >= 0 {
		return types[i].GoImportPath
	}
	return ""
}

// goFileAt matches a position the go command prints at the start of a
// line ("  main.go:6:2: ..."): a .go file's path, then a line number.
var goFileAt = regexp.MustCompile(`(?m)^(\s*)([^\s:#][^\s:]*\.go):(\d)`)

// fromAppDir rewrites the go command's positions, relative to the app
// directory it ran in, to paths from dir, the app as the user named it
// (./shop, or the current directory: no change), so that a compiler error
// names its file as parigot.hcl's and a .proto's mistakes do, and a
// terminal or editor opens it from where parigot was run.
func fromAppDir(output, dir string) string {
	if dir == "" || filepath.Clean(dir) == "." {
		return output
	}
	return goFileAt.ReplaceAllStringFunc(output, func(m string) string {
		sub := goFileAt.FindStringSubmatch(m)
		if filepath.IsAbs(sub[2]) {
			return m
		}
		return sub[1] + filepath.Join(dir, filepath.FromSlash(sub[2])) + ":" + sub[3]
	})
}

// hintOnce leaves each hint with the first of failures that has it: guests
// that use the same message of the app's protos fail on it alike, and the
// message's fix is one.
func hintOnce(failures []*CompileError) {
	var said hcl.Diagnostics
	for _, f := range failures {
		kept := f.Hints[:0]
		for _, h := range f.Hints {
			if !slices.ContainsFunc(said, func(o *hcl.Diagnostic) bool {
				return o.Summary == h.Summary && o.Subject != nil && h.Subject != nil && *o.Subject == *h.Subject
			}) {
				said = append(said, h)
				kept = append(kept, h)
			}
		}
		f.Hints = kept
	}
}

func (e *CompileError) Error() string {
	s := fmt.Sprintf("building guest %s failed:\n%s", e.Guest, strings.TrimRight(e.Output, "\n"))
	if len(e.Hints) > 0 {
		var b strings.Builder
		diag.Write(&b, e.Hints, e.Sources, 0, false)
		s += "\n\n" + strings.TrimRight(b.String(), "\n")
	}
	return s
}

// CheckRunEnv checks what app takes from the environment of this process,
// the command about to run it: it reports, as a DiagnosticsError at each
// entry, the pass_env variables of its guests that the environment does
// not set, and the url_env and ca_file_env variables of its http blocks
// that it sets to no valid URL or no usable CA file; nil when all is well.
func CheckRunEnv(app *manifest.App) error {
	diags := app.MissingPassEnv(os.LookupEnv)
	diags = append(diags, app.BadHTTPEnv(os.LookupEnv)...)
	if diags.HasErrors() {
		return &DiagnosticsError{Diags: diags, Sources: app.Sources}
	}
	return nil
}
