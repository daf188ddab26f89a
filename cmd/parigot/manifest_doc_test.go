package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parigot.dev/parigot/manifest"
)

// TestManifestDocShowsWhatTheCLIPrints keeps the diagnostic shown at the top
// of docs/MANIFEST.md equal to what parigot prints for it: the doc's
// complete manifest, with the typo the doc describes, saved as
// shop/parigot.hcl, built with the command the doc shows.
func TestManifestDocShowsWhatTheCLIPrints(t *testing.T) {
	const (
		command = "parigot build shop"
		right   = "requires = [service.orders]"
		typo    = "requires = [service.oders]"
	)
	doc, err := os.ReadFile("../../docs/MANIFEST.md")
	if err != nil {
		t.Fatal(err)
	}
	example := codeBlock(t, string(doc), "```hcl\n")
	shown := codeBlock(t, string(doc), "```\n$ "+command+"\n")
	if strings.Count(example, right) != 1 {
		t.Fatalf("the doc's complete manifest must hold %q once, for the typo the doc shows", right)
	}

	dir := t.TempDir()
	t.Chdir(dir)
	app := filepath.Join(dir, "shop")
	writeApp(t, app, example)
	if err := os.WriteFile(filepath.Join(app, manifest.FileName), []byte(strings.Replace(example, right, typo, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := parigot(strings.Fields(command)[1:], &stdout, &stderr); code != exitFailure {
		t.Errorf("%s exited with %d, want %d", command, code, exitFailure)
	}
	if got := "$ " + command + "\n" + stderr.String(); got != shown {
		t.Errorf("docs/MANIFEST.md shows\n%s\nbut parigot prints\n%s", shown, got)
	}
}

// codeBlock returns the contents of the first fenced block of doc that
// starts with start (its fence line and, maybe, first lines).
func codeBlock(t *testing.T, doc, start string) string {
	t.Helper()
	_, after, ok := strings.Cut(doc, start)
	if !ok {
		t.Fatalf("docs/MANIFEST.md has no block starting %q", start)
	}
	block, _, ok := strings.Cut(after, "```\n")
	if !ok {
		t.Fatalf("the block starting %q is not closed", start)
	}
	return strings.TrimPrefix(start, strings.SplitN(start, "\n", 2)[0]+"\n") + block
}

// writeApp creates what the manifest src refers to in dir: a main package
// for each guest and each proto file, so that only the doc's typo is wrong.
func writeApp(t *testing.T, dir, src string) {
	t.Helper()
	app, _ := manifest.Parse(manifest.FileName, []byte(src), dir)
	files := map[string]string{}
	for _, g := range app.Guests() {
		files[filepath.Join(g.Source, "main.go")] = "package main\n\nfunc main() {}\n"
	}
	for _, p := range app.Protos {
		for _, f := range p.Files {
			files[f] = "syntax = \"proto3\";\n"
		}
	}
	if len(app.Guests()) == 0 || len(app.Protos) == 0 {
		t.Fatal("the doc's complete manifest declares no guest or no proto")
	}
	for name, content := range files {
		file := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestManifestDocHasASectionPerBlock keeps docs/MANIFEST.md complete: every
// block type parigot.hcl takes has its "## <block>" section and appears in
// the complete manifest.
func TestManifestDocHasASectionPerBlock(t *testing.T) {
	doc, err := os.ReadFile("../../docs/MANIFEST.md")
	if err != nil {
		t.Fatal(err)
	}
	example := codeBlock(t, string(doc), "```hcl\n")
	for _, block := range manifest.BlockTypes() {
		if !strings.Contains(string(doc), "\n## "+block+"\n") {
			t.Errorf("docs/MANIFEST.md has no section ## %s", block)
		}
		if !strings.Contains(example, "\n"+block+" \"") {
			t.Errorf("the complete manifest of docs/MANIFEST.md has no %s block", block)
		}
	}
}
