package doccheck

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"path/filepath"
	"testing"
)

// TestTheDocsSignaturesAreTheCodes checks the blocks that list the
// signatures of a file of the repository (<!-- the signatures of FILE -->):
// each function and method they list is declared in FILE, with the same
// parameters and results.
func TestTheDocsSignaturesAreTheCodes(t *testing.T) {
	root := repoRoot(t)
	checked := 0
	for _, doc := range userDocs(t, root) {
		for _, b := range goBlocks(t, root, doc) {
			if b.signatures == "" {
				continue
			}
			fset := token.NewFileSet()
			listed, err := parser.ParseFile(fset, "", "package p\n"+b.code, parser.SkipObjectResolution)
			if err != nil {
				t.Errorf("%s:%d: the signatures do not parse: %v", doc, b.line, err)
				continue
			}
			code, err := parser.ParseFile(fset, filepath.Join(root, filepath.FromSlash(b.signatures)), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Errorf("%s:%d: the block lists the signatures of %s: %v", doc, b.line, b.signatures, err)
				continue
			}
			declared := map[string]string{}
			for _, d := range code.Decls {
				if fn, ok := d.(*ast.FuncDecl); ok {
					declared[funcName(fset, fn)] = funcType(fset, fn)
				}
			}
			for _, d := range listed.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok {
					continue
				}
				checked++
				line := b.line + fset.Position(fn.Pos()).Line - 2 // the block follows "package p\n"
				name, want := funcName(fset, fn), funcType(fset, fn)
				got, ok := declared[name]
				switch {
				case !ok:
					t.Errorf("%s:%d: the doc lists %s, which %s does not declare", doc, line, name, b.signatures)
				case got != want:
					t.Errorf("%s:%d: the doc lists %s as %s; %s declares it %s", doc, line, name, want, b.signatures, got)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("the docs list no signatures: did the comment before their block change?")
	}
}

// funcName is a function's name, or a method's with its receiver's type:
// (*OrderId).UnmarshalText.
func funcName(fset *token.FileSet, fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	return "(" + node(fset, fn.Recv.List[0].Type) + ")." + fn.Name.Name
}

// funcType is a function's parameters and results, as Go prints them.
func funcType(fset *token.FileSet, fn *ast.FuncDecl) string {
	return node(fset, fn.Type)
}

func node(fset *token.FileSet, n ast.Node) string {
	var b bytes.Buffer
	if err := printer.Fprint(&b, fset, n); err != nil {
		return err.Error()
	}
	return b.String()
}
