package manifest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// bufApp writes an app with the given files and a manifest whose proto
// block is block, and parses it.
func bufApp(t *testing.T, block string, files map[string]string) (*App, string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := "app \"shop\" {\n  module = \"example.com/shop\"\n}\n\n" + block
	app, diags := Parse(FileName, []byte(src), dir)
	text := ""
	if diags.HasErrors() {
		text = diags.Error()
	}
	return app, text
}

func TestAProtoBlockTakesItsFilesFromBufYAML(t *testing.T) {
	protos := map[string]string{
		"buf.yaml": `version: v2
modules:
  - path: proto
    excludes:
      - proto/legacy
  - path: vendor/proto
`,
		"proto/shop/v1/shop.proto":      "syntax = \"proto3\";\n",
		"proto/shop/v1/types.proto":     "syntax = \"proto3\";\n",
		"proto/legacy/old.proto":        "syntax = \"proto3\";\n",
		"vendor/proto/money/v1/m.proto": "syntax = \"proto3\";\n",
	}
	t.Run("each module is a root with its files, excludes left out", func(t *testing.T) {
		app, errs := bufApp(t, "proto \"api\" {\n  buf = \"buf.yaml\"\n}\n", protos)
		if errs != "" {
			t.Fatal(errs)
		}
		var got []string
		for _, p := range app.Protos {
			got = append(got, p.Root+": "+strings.Join(p.Files, " "))
		}
		want := []string{
			"proto: proto/shop/v1/shop.proto proto/shop/v1/types.proto",
			"vendor/proto: vendor/proto/money/v1/m.proto",
		}
		if !slices.Equal(got, want) {
			t.Errorf("protos\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("buf may name the directory of the buf.yaml", func(t *testing.T) {
		app, errs := bufApp(t, "proto \"api\" {\n  buf = \".\"\n}\n", protos)
		if errs != "" || len(app.Protos) != 2 {
			t.Errorf("%d protos, errors %q", len(app.Protos), errs)
		}
	})
	for _, c := range []struct {
		name, block, bufYAML, want string
	}{
		{"a v1 buf.yaml", "buf = \"buf.yaml\"", "version: v1\n", `has version "v1"; parigot reads buf.yaml v2`},
		{"dependencies from the registry", "buf = \"buf.yaml\"", "version: v2\ndeps:\n  - buf.build/googleapis/googleapis\n", "depends on buf.build/googleapis/googleapis"},
		{"root beside buf", "buf = \"buf.yaml\"\n  root = \"proto\"", "version: v2\n", "takes its roots and files from the buf.yaml's modules; remove root"},
		{"a missing buf.yaml", "buf = \"nope.yaml\"", "version: v2\n", "cannot be read"},
		{"a buf.yaml outside the app", "buf = \"../buf.yaml\"", "version: v2\n", "buf"},
		{"a module path that does not exist", "buf = \"buf.yaml\"", "version: v2\nmodules:\n  - path: protos\n",
			`The module path "protos" of `},
		{"a misspelt module key", "buf = \"buf.yaml\"", "version: v2\nmodules:\n  - path: .\n    exclude:\n      - x\n",
			`has the key "exclude", which a buf.yaml v2 module does not have (it has path, name, excludes, includes, lint, breaking). Did you mean "excludes"?`},
	} {
		t.Run("is diagnosed: "+c.name, func(t *testing.T) {
			files := map[string]string{"buf.yaml": c.bufYAML, "shop.proto": "syntax = \"proto3\";\n"}
			_, errs := bufApp(t, "proto \"api\" {\n  "+c.block+"\n}\n", files)
			if !strings.Contains(errs, c.want) {
				t.Errorf("errors %q, want one saying %q", errs, c.want)
			}
		})
	}
}

func TestABufModuleKeepsToItsIncludesAndIgnoresBufsOwnKeys(t *testing.T) {
	app, errs := bufApp(t, "proto \"api\" {\n  buf = \"buf.yaml\"\n}\n", map[string]string{
		"buf.yaml": `version: v2
modules:
  - path: proto
    name: buf.build/acme/shop
    includes:
      - proto/shop
    excludes:
      - proto/shop/legacy
    lint:
      use: [STANDARD]
    breaking:
      use: [FILE]
`,
		"proto/shop/v1/shop.proto":    "syntax = \"proto3\";\n",
		"proto/shop/legacy/old.proto": "syntax = \"proto3\";\n",
		"proto/other/v1/other.proto":  "syntax = \"proto3\";\n",
	})
	if errs != "" {
		t.Fatal(errs)
	}
	if len(app.Protos) != 1 || !slices.Equal(app.Protos[0].Files, []string{"proto/shop/v1/shop.proto"}) {
		t.Errorf("protos %+v, want the one file inside the includes and outside the excludes", app.Protos)
	}
}
