package doccheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// tableRow is a row of the package table of docs/ARCHITECTURE.md.
var tableRow = regexp.MustCompile("(?m)^\\| `([^`]+)`( \\(own module\\))? \\|")

// TestArchitectureListsEveryPackage keeps the package table of
// docs/ARCHITECTURE.md whole and true: each package it lists is a
// directory of the repository, and each package of the module outside
// examples/ has a row, its own or that of a package it is below.
func TestArchitectureListsEveryPackage(t *testing.T) {
	root := repoRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range tableRow.FindAllStringSubmatch(string(doc), -1) {
		listed = append(listed, m[1])
		if fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(m[1]))); err != nil || !fi.IsDir() {
			t.Errorf("docs/ARCHITECTURE.md lists package %s, which is not a directory of the repository: remove its row, or correct its path", m[1])
		}
	}
	if len(listed) < 10 {
		t.Fatalf("docs/ARCHITECTURE.md's package table has %d rows: did its format change?", len(listed))
	}
	list := exec.Command("go", "list", "./...")
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, "parigot.dev/parigot"), "/")
		if rel == "" || rel == "examples" || strings.HasPrefix(rel, "examples/") || coveredBy(rel, listed) {
			continue
		}
		t.Errorf("docs/ARCHITECTURE.md's package table has no row for %s: add one that says what the package is for", rel)
	}
}

// coveredBy reports whether pkg is one of listed or below one of them.
func coveredBy(pkg string, listed []string) bool {
	for _, l := range listed {
		if pkg == l || strings.HasPrefix(pkg, l+"/") {
			return true
		}
	}
	return false
}
