package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"parigot.dev/parigot/internal/srctree"
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

	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/all\n\ngo 1.26\n\nrequire parigot.dev/parigot v1.0.0\n"), 0o644)
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

	os.WriteFile(filepath.Join(app, "go.mod"), []byte("module example.com/shop\n\nrequire parigot.dev/parigot v1.0.0\n"), 0o644)
	if summary, _, _ := check("example.com/shop"); summary != "" {
		t.Errorf("the app's own go.mod: got %q, want no error", summary)
	}
}

// An app's go.mod must take parigot.dev/parigot from a parigot source tree,
// which the Go module proxy does not serve: one that does not is told so at
// its line of go.mod, with the command that mends it, before the go command
// fails on every guest with advice that cannot work.
func TestGoModMustTakeParigotFromASourceTree(t *testing.T) {
	t.Setenv("GOWORK", "off")
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, gomod string
		summary     string // "": no error
		line        int
		says        string
	}{
		{name: "a module replaced with the checkout is fine",
			gomod: "module shop\n\nrequire parigot.dev/parigot v0.0.0\n\nreplace parigot.dev/parigot => " + repo + "\n"},
		{name: "a checkout named relative to go.mod is fine",
			gomod: "module shop\n\nrequire parigot.dev/parigot v0.0.0\n\nreplace parigot.dev/parigot v0.0.0 => $REL\n"},
		{name: "a published version is the go command's to find",
			gomod: "module shop\n\nrequire parigot.dev/parigot v1.2.0\n"},
		{name: "no require is told at the module line",
			gomod:   "module shop\n\ngo 1.26\n",
			summary: "go.mod does not require parigot", line: 1, says: "go mod edit -require parigot.dev/parigot@v0.0.0"},
		{name: "a require without a replace is told at the require",
			gomod:   "module shop\n\ngo 1.26\n\nrequire (\n\tgolang.org/x/mod v0.41.0\n\tparigot.dev/parigot v0.0.0\n)\n",
			summary: "parigot is not replaced with a source tree", line: 7, says: "go mod edit -replace parigot.dev/parigot=DIR"},
		{name: "a replace with a directory that is gone is told at the replace",
			gomod:   "module shop\n\nrequire parigot.dev/parigot v0.0.0\n\nreplace parigot.dev/parigot => ../gone\n",
			summary: "parigot is replaced with no parigot source tree", line: 5, says: "does not exist"},
		{name: "a replace with another module's tree is told what module it holds",
			gomod:   "module shop\n\nrequire parigot.dev/parigot v0.0.0\n\nreplace parigot.dev/parigot => ./other\n",
			summary: "parigot is replaced with no parigot source tree", line: 5, says: `declares module "example.com/other"`},
		{name: "a replace with another parigot tree than this parigot's is a warning at the replace",
			gomod:   "module shop\n\nrequire parigot.dev/parigot v0.0.0\n\nreplace parigot.dev/parigot => ./oldparigot\n",
			summary: "parigot's library is from another tree than this parigot", line: 5, says: "go mod edit -replace parigot.dev/parigot=" + repo},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "shop")
			os.MkdirAll(filepath.Join(dir, "other"), 0o755)
			os.WriteFile(filepath.Join(dir, "other", "go.mod"), []byte("module example.com/other\n"), 0o644)
			os.MkdirAll(filepath.Join(dir, "oldparigot"), 0o755)
			os.WriteFile(filepath.Join(dir, "oldparigot", "go.mod"), []byte("module parigot.dev/parigot\n"), 0o644)
			rel, err := filepath.Rel(dir, repo)
			if err != nil {
				t.Fatal(err)
			}
			gomodText := strings.ReplaceAll(tc.gomod, "$REL", rel)
			os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomodText), 0o644)
			a, diags := Parse(filepath.Join(dir, FileName), []byte("app \"shop\" {\n  module = \"shop\"\n}\n"), dir)
			if diags.HasErrors() {
				t.Fatalf("parse: %s", describe(diags))
			}
			diags = a.CheckGoModule()
			if tc.summary == "" {
				if len(diags) != 0 {
					t.Fatalf("got %s, want no error", describe(diags))
				}
				return
			}
			if len(diags) != 1 {
				t.Fatalf("got %d diagnostics (%s), want one", len(diags), describe(diags))
			}
			d := diags[0]
			gomod := filepath.Join(dir, "go.mod")
			if d.Summary != tc.summary || d.Subject.Filename != gomod || d.Subject.Start.Line != tc.line || !strings.Contains(d.Detail, tc.says) {
				t.Errorf("got %q at %s:%d: %s\nwant %q at line %d saying %q", d.Summary, d.Subject.Filename, d.Subject.Start.Line, d.Detail, tc.summary, tc.line, tc.says)
			}
			if !strings.Contains(d.Detail, "this parigot was built from "+repo) {
				t.Errorf("the detail does not name the checkout this parigot was built from (%s): %s", repo, d.Detail)
			}
			if string(a.Sources[gomod]) != gomodText {
				t.Errorf("go.mod is not among the sources the diagnostic is shown with")
			}
		})
	}

	t.Run("a workspace is left to the go command", func(t *testing.T) {
		t.Setenv("GOWORK", "")
		root := t.TempDir()
		dir := filepath.Join(root, "shop")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(root, "go.work"), []byte("go 1.26\n\nuse ./shop\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module shop\n"), 0o644)
		a, _ := Parse(filepath.Join(dir, FileName), []byte("app \"shop\" {\n  module = \"shop\"\n}\n"), dir)
		if diags := a.CheckGoModule(); len(diags) != 0 {
			t.Errorf("got %s, want no error", describe(diags))
		}
	})
}

// A parigot installed from its tree, whose tree has since moved to
// another commit (a git pull without go install), is told to install the
// command again, at go.mod's replace; one installed from the commit the
// tree has checked out, or built without a commit recorded (go run), is
// told nothing.
func TestAParigotBuiltFromAnotherCommitOfItsTreeIsToldToInstallAgain(t *testing.T) {
	t.Setenv("GOWORK", "off")
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	head := srctree.Head(repo)
	if head == "" {
		t.Skipf("%s is no git checkout, or git is not installed", repo)
	}
	dir := filepath.Join(t.TempDir(), "shop")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module shop\n\nrequire parigot.dev/parigot v0.0.0\n\nreplace parigot.dev/parigot => "+repo+"\n"), 0o644)
	check := func(built string) hcl.Diagnostics {
		t.Helper()
		was := builtRevision
		builtRevision = func() string { return built }
		defer func() { builtRevision = was }()
		a, diags := Parse(filepath.Join(dir, FileName), []byte("app \"shop\" {\n  module = \"shop\"\n}\n"), dir)
		if diags.HasErrors() {
			t.Fatalf("parse: %s", describe(diags))
		}
		return a.CheckGoModule()
	}
	for _, built := range []string{head, ""} {
		if diags := check(built); len(diags) != 0 {
			t.Errorf("built from %q, the tree at %s: got %s, want nothing said", built, head, describe(diags))
		}
	}
	older := strings.Repeat("0", 40)
	diags := check(older)
	if len(diags) != 1 {
		t.Fatalf("built from another commit: got %d diagnostics (%s), want one", len(diags), describe(diags))
	}
	d := diags[0]
	if d.Severity != hcl.DiagWarning || d.Summary != "this parigot was built from another commit of its tree" || d.Subject.Start.Line != 5 {
		t.Errorf("got %q (severity %v) at line %d, want the warning at the replace (line 5)", d.Summary, d.Severity, d.Subject.Start.Line)
	}
	for _, part := range []string{"commit " + older[:12], "now has commit " + head[:12], "cd " + repo + " && go install ./cmd/parigot"} {
		if !strings.Contains(d.Detail, part) {
			t.Errorf("the detail does not say %q: %s", part, d.Detail)
		}
	}
}
