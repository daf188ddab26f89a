package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An app whose module is not what go.mod makes its directory is told the
// path to write, at the module attribute; one in no Go module is told to
// make one.
func TestTheModuleMustBeWhatGoModMakesTheAppsDirectory(t *testing.T) {
	root := t.TempDir()
	if dir, _ := findGoMod(root); dir != "" {
		t.Skipf("a go.mod above the temporary directory (%s) puts every app in a module", dir)
	}
	app := filepath.Join(root, "apps", "shop")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	check := func(module string) (summary, detail string, line int) {
		t.Helper()
		src := "app \"shop\" {\n  module = \"" + module + "\"\n}\n"
		a, diags := Parse(filepath.Join(app, FileName), []byte(src), app)
		if diags.HasErrors() {
			t.Fatalf("parse: %s", describe(diags))
		}
		diags = a.CheckGoModule()
		if len(diags) == 0 {
			return "", "", 0
		}
		return diags[0].Summary, diags[0].Detail, diags[0].Subject.Start.Line
	}

	if summary, detail, line := check("example.com/shop"); summary != "App outside any Go module" || line != 2 || !strings.Contains(detail, "go mod init example.com/shop") {
		t.Errorf("no go.mod: got %q at line %d: %s", summary, line, detail)
	}

	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/all\n\ngo 1.26\n"), 0o644)
	if summary, _, _ := check("example.com/all/apps/shop"); summary != "" {
		t.Errorf("the module go.mod makes the directory: got %q, want no error", summary)
	}
	summary, detail, line := check("example.com/shop")
	if summary != "Module does not match go.mod" || line != 2 {
		t.Errorf("a module go.mod does not make: got %q at line %d", summary, line)
	}
	if want := `Set module = "example.com/all/apps/shop"`; !strings.Contains(detail, want) {
		t.Errorf("detail does not say %q: %s", want, detail)
	}

	os.WriteFile(filepath.Join(app, "go.mod"), []byte("module example.com/shop\n"), 0o644)
	if summary, _, _ := check("example.com/shop"); summary != "" {
		t.Errorf("the app's own go.mod: got %q, want no error", summary)
	}
}
