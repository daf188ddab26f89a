package doccheck

import (
	"os"
	"path/filepath"
	"testing"
)

// repoRoot is the root of the parigot module, two directories up.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("%s is not the module root: %v", root, err)
	}
	return root
}

// userDocs are the repository-relative names of the user docs: README.md
// and every docs/*.md.
func userDocs(t *testing.T, root string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no docs/*.md under %s (%v)", root, err)
	}
	docs := []string{"README.md"}
	for _, n := range names {
		docs = append(docs, filepath.ToSlash(filepath.Join("docs", filepath.Base(n))))
	}
	return docs
}
