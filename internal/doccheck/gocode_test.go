package doccheck

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"parigot.dev/parigot/builder"
)

// The Go blocks of the docs, and how they are compiled.
//
// A block that starts with a package clause (after comments) is a file: it
// is compiled as it is, given only the imports it leaves out. Any other
// block is a fragment: declarations (types, functions, methods), or
// statements, which go in a function of their own. Every block is a package
// of its own, compiled with the imports its names need (knownImports) and
// what an HTML comment on the line before its fence adds:
//
//	<!-- compiled with: DECLARATIONS -->
//	    Go declarations of the names the block uses but does not declare
//	    (the server type of the methods it shows, a client it calls).
//	<!-- compiled with the block above -->
//	<!-- compiled with the block above and: DECLARATIONS -->
//	    the block continues the Go block before it: same package.
//	<!-- the signatures of FILE -->
//	    the block lists functions and methods without their bodies, which
//	    TestTheDocsSignaturesAreTheCodes finds, the same, in FILE (a path
//	    of the repository), rather than compiles.
//	<!-- not compiled: REASON -->
//	    the block is not Go that compiles, and REASON says so to whoever
//	    reads the doc's source.

// knownImports are the import paths of the package names the docs' Go
// blocks use without importing them. The services that no app of examples/
// serves are those of testdata/shop, whose Go code the test generates.
var knownImports = map[string]string{
	"context":       "context",
	"errors":        "errors",
	"filepath":      "path/filepath",
	"fmt":           "fmt",
	"http":          "net/http",
	"httptest":      "net/http/httptest",
	"os":            "os",
	"pem":           "encoding/pem",
	"strconv":       "strconv",
	"strings":       "strings",
	"testing":       "testing",
	"time":          "time",
	"url":           "net/url",
	"connect":       "connectrpc.com/connect",
	"grpc":          "google.golang.org/grpc",
	"apptest":       "parigot.dev/parigot/runtime/apptest",
	"boilerplateid": "parigot.dev/parigot/boilerplateid",
	"guest":         "parigot.dev/parigot/runtime/guest",
	"host":          "parigot.dev/parigot/runtime/host",
	"idv1":          "parigot.dev/parigot/proto/parigot/id/v1",
	"bookstorev1":   "parigot.dev/parigot/examples/bookstore/gen/bookstore/v1",
	"greetingv1":    "parigot.dev/parigot/examples/helloworld/gen/greeting/v1",
	"ids":           "parigot.dev/parigot/examples/orders/gen/ids",
	"jobsv1":        "parigot.dev/parigot/examples/jobs/gen/jobs/v1",
	"ordersv1":      "parigot.dev/parigot/examples/orders/gen/orders/v1",
	"ratesapi":      "parigot.dev/parigot/examples/rates/ratesapi",
	"bankv1":        "example.com/shop/gen/bank/v1",
	"checkoutv1":    "example.com/shop/gen/checkout/v1",
	"paymentsv1":    "example.com/shop/gen/payments/v1",
	"stockv1":       "example.com/shop/gen/stock/v1",
}

// goBlock is one ```go block of a doc.
type goBlock struct {
	doc        string // repository-relative
	line       int    // of its first line of code
	code       string
	decls      string // what its "compiled with:" comment declares
	withAbove  bool   // its comment says it continues the block above
	notCompile string // why it is not compiled, if it is not
	signatures string // the file whose signatures it lists, if it does
}

// goBlocks reads the ```go blocks of the doc name (repository-relative),
// with the comment before each fence.
func goBlocks(t *testing.T, root, name string) []goBlock {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	var (
		blocks  []goBlock
		comment []string // the HTML comment that ended on the previous line
		inHTML  bool
		cur     *goBlock
		inFence bool
	)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur != nil && line == "```":
			blocks = append(blocks, *cur)
			cur, inFence = nil, false
		case cur != nil:
			cur.code += line + "\n"
		case !inFence && strings.HasPrefix(line, " ") && strings.TrimSpace(line) == "```go":
			t.Errorf("%s:%d: an indented ```go block, which this test does not read: start its fence at the line's start", name, n)
		case strings.HasPrefix(line, "```"):
			if line == "```go" && !inFence {
				blk := goBlock{doc: name, line: n + 1}
				if err := blk.directive(strings.Join(comment, "\n")); err != nil {
					t.Errorf("%s:%d: %v", name, n, err)
				}
				cur = &blk
			} else {
				inFence = !inFence
			}
			comment = nil
		case inFence:
		case inHTML || strings.HasPrefix(line, "<!--"):
			if !inHTML {
				comment = nil
			}
			comment = append(comment, line)
			inHTML = !strings.HasSuffix(line, "-->")
		default:
			comment = nil
		}
	}
	if cur != nil {
		t.Errorf("%s:%d: the ```go block is not closed", name, cur.line-1)
	}
	return blocks
}

// directive reads the HTML comment before a block's fence, if it is one
// of those the package comment lists.
func (b *goBlock) directive(comment string) error {
	body := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(comment, "<!--"), "-->"))
	switch {
	case strings.HasPrefix(body, "not compiled:"):
		b.notCompile = strings.TrimSpace(strings.TrimPrefix(body, "not compiled:"))
		if b.notCompile == "" {
			return fmt.Errorf("say why the block is not compiled: <!-- not compiled: REASON -->")
		}
	case strings.HasPrefix(body, "the signatures of "):
		b.signatures = strings.TrimSpace(strings.TrimPrefix(body, "the signatures of "))
	case strings.HasPrefix(body, "compiled with"):
		rest := strings.TrimPrefix(body, "compiled with")
		rest, b.withAbove = strings.CutPrefix(rest, " the block above")
		if rest, ok := strings.CutPrefix(rest, " and:"); ok && b.withAbove {
			b.decls = rest
		} else if rest, ok := strings.CutPrefix(rest, ":"); ok && !b.withAbove {
			b.decls = rest
		} else if rest != "" {
			return fmt.Errorf("the comment before the block reads %q: write <!-- compiled with: DECLARATIONS -->, <!-- compiled with the block above --> or <!-- compiled with the block above and: DECLARATIONS -->", comment)
		}
	}
	return nil
}

// TestTheDocsGoExamplesCompile compiles every ```go block of the docs
// against this tree (go vet, which type-checks them): a user who pastes one
// must get code that builds. The errors point at the doc's lines.
func TestTheDocsGoExamplesCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("generates an app's code and runs go vet on the docs' examples")
	}
	root := repoRoot(t)
	dir := t.TempDir()
	writeShop(t, root, dir)

	var pkgs [][]goBlock // the blocks of each package
	compiled, skipped := 0, 0
	for _, doc := range userDocs(t, root) {
		above := -1 // the package of the doc's Go block above, if it is compiled
		for _, b := range goBlocks(t, root, doc) {
			switch {
			case b.notCompile != "" || b.signatures != "":
				skipped, above = skipped+1, -1
				continue
			case b.withAbove && above < 0:
				t.Errorf("%s:%d: the block says it is compiled with the block above, but no compiled Go block is above it", b.doc, b.line-1)
				continue
			case b.withAbove:
				pkgs[above] = append(pkgs[above], b)
			default:
				pkgs = append(pkgs, []goBlock{b})
				above = len(pkgs) - 1
			}
			compiled++
		}
	}
	for i, blocks := range pkgs {
		writePackage(t, root, filepath.Join(dir, "snippets", fmt.Sprintf("p%02d", i)), blocks)
	}
	vet := exec.Command("go", "vet", "./snippets/...")
	vet.Dir, vet.Env = dir, offlineEnv()
	if out, err := vet.CombinedOutput(); err != nil {
		t.Fatalf("the docs' Go examples do not compile (go vet: %v):\n%s\n"+
			"Fix the example in the doc. One that uses names it does not declare says what they are in a comment before its fence, "+
			"<!-- compiled with: DECLARATIONS -->; one that is not meant to compile says why, <!-- not compiled: REASON -->.",
			err, strings.ReplaceAll(string(out), root+string(filepath.Separator), ""))
	}
	if compiled == 0 {
		t.Fatal("the docs have no Go block to compile: did the fence format change?")
	}
	t.Logf("compiled %d Go blocks of the docs; left out %d (lists of signatures, blocks marked not compiled)", compiled, skipped)
}

// writeShop writes the app of testdata/shop into dir, as a module that uses
// this tree of parigot, and generates its Go code.
func writeShop(t *testing.T, root, dir string) {
	t.Helper()
	src := filepath.Join("testdata", "shop")
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		return writeFile(filepath.Join(dir, rel), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	_, requires, ok := bytes.Cut(mod, []byte("\nrequire ("))
	if !ok {
		t.Fatal("the repository's go.mod has no require block")
	}
	gomod := fmt.Sprintf("module example.com/shop\n\ngo 1.26\n\nrequire parigot.dev/parigot v0.0.0\n\nreplace parigot.dev/parigot => %s\n\nrequire (%s", root, requires)
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(dir, "go.mod"), []byte(gomod)); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(dir, "go.sum"), sum); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := builder.Generate(context.Background(), dir, &out); err != nil {
		t.Fatalf("generating testdata/shop's code: %v\n%s", err, out.String())
	}
}

// writePackage writes blocks as the files of one package in dir.
func writePackage(t *testing.T, root, dir string, blocks []goBlock) {
	t.Helper()
	pkg := "snippet"
	for _, b := range blocks {
		if f, err := parser.ParseFile(token.NewFileSet(), "", b.code, parser.PackageClauseOnly); err == nil {
			pkg = f.Name.Name
		} else if declaresMain(b.code) {
			pkg = "main"
		}
	}
	for i, b := range blocks {
		src, err := goFile(pkg, filepath.Join(root, b.doc), b)
		if err != nil {
			t.Errorf("%s:%d: %v", b.doc, b.line, err)
			continue
		}
		name := fmt.Sprintf("block%d.go", i)
		if strings.HasSuffix(pkg, "_test") {
			name = fmt.Sprintf("block%d_test.go", i)
		}
		if err := writeFile(filepath.Join(dir, name), src); err != nil {
			t.Fatal(err)
		}
	}
}

// declaresMain reports whether the fragment code declares func main.
func declaresMain(code string) bool {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\n"+code, parser.SkipObjectResolution)
	return err == nil && slices.ContainsFunc(f.Decls, func(d ast.Decl) bool {
		fn, ok := d.(*ast.FuncDecl)
		return ok && fn.Recv == nil && fn.Name.Name == "main"
	})
}

// goFile makes a Go file of package pkg out of block b of the doc at
// docPath: the block (in a function of its own if it is statements), its
// "compiled with" declarations, and the imports they need. Line directives
// keep the block's positions those of the doc.
func goFile(pkg, docPath string, b goBlock) ([]byte, error) {
	fset := token.NewFileSet()
	lineDirective := func(line int) string { return fmt.Sprintf("//line %s:%d\n", docPath, line) }
	var head, body string // head: up to where imports go; body: the rest
	if _, err := parser.ParseFile(fset, "", b.code, parser.PackageClauseOnly); err == nil {
		// A file: split it after its package clause.
		lines := strings.SplitAfter(b.code, "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, "package ") {
				head = lineDirective(b.line) + strings.Join(lines[:i+1], "")
				body = lineDirective(b.line+i+1) + strings.Join(lines[i+1:], "")
				break
			}
		}
	} else {
		head = "package " + pkg + "\n"
		if _, err := parser.ParseFile(fset, "", "package p\n"+b.code, 0); err == nil {
			body = lineDirective(b.line) + b.code
		} else {
			body = "func _() {\n" + lineDirective(b.line) + b.code + used(b.code) + "}\n"
		}
	}
	if strings.TrimSpace(b.decls) != "" {
		body += "\n// compiled with:\n" + b.decls + "\n"
	}
	f, err := parser.ParseFile(fset, "", head+body, 0)
	if err != nil {
		return nil, fmt.Errorf("the block is neither a Go file, nor declarations, nor statements: %v", err)
	}
	imported := map[string]bool{}
	for _, imp := range f.Imports {
		path := strings.Trim(imp.Path.Value, `"`)
		imported[path[strings.LastIndex(path, "/")+1:]] = true
		if imp.Name != nil {
			imported[imp.Name.Name] = true
		}
	}
	need := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Obj == nil && knownImports[id.Name] != "" && !imported[id.Name] {
				need[id.Name] = true
			}
		}
		return true
	})
	var imports strings.Builder
	for _, name := range slices.Sorted(maps.Keys(need)) {
		fmt.Fprintf(&imports, "import %s %q\n", name, knownImports[name])
	}
	return []byte(head + imports.String() + body), nil
}

// used returns a statement that uses every variable the statements code
// declare at their top level: a fragment may declare what the text goes on
// to use, and Go refuses a variable declared and not used.
func used(code string) string {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\nfunc _() {\n"+code+"}\n", parser.SkipObjectResolution)
	if err != nil {
		return ""
	}
	var names []string
	for _, st := range f.Decls[0].(*ast.FuncDecl).Body.List {
		switch st := st.(type) {
		case *ast.AssignStmt:
			if st.Tok == token.DEFINE {
				for _, e := range st.Lhs {
					if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
						names = append(names, id.Name)
					}
				}
			}
		case *ast.DeclStmt:
			if g, ok := st.Decl.(*ast.GenDecl); ok && g.Tok == token.VAR {
				for _, s := range g.Specs {
					for _, id := range s.(*ast.ValueSpec).Names {
						names = append(names, id.Name)
					}
				}
			}
		}
	}
	if len(names) == 0 {
		return ""
	}
	return "\n_ = []any{&" + strings.Join(names, ", &") + "}\n"
}

// offlineEnv is the environment of a go command that must work from the
// module cache alone.
func offlineEnv() []string {
	return append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
}

func writeFile(name string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, b, 0o644)
}
