// Package layering holds a test that keeps the package dependencies pointing
// one way, as docs/ARCHITECTURE.md draws them.
package layering

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "parigot.dev/parigot"

// forbidden lists, for each package (prefix), the parigot packages it must
// not import, and why.
var forbidden = map[string][]string{
	"manifest":             {"codegen", "builder", "runtime", "cmd"},
	"codegen":              {"manifest", "builder", "runtime", "cmd"},
	"templates":            {"manifest", "codegen", "builder", "runtime", "cmd"},
	"builder":              {"runtime", "cmd"},
	"boilerplateid":        {"manifest", "codegen", "builder", "runtime", "cmd"},
	"proto":                {"manifest", "codegen", "builder", "runtime", "cmd", "templates", "boilerplateid"},
	"runtime/id":           {"manifest", "codegen", "builder", "runtime/host", "runtime/guest", "cmd", "templates", "boilerplateid"},
	"runtime/guest":        {"manifest", "codegen", "builder", "runtime/host", "runtime/apptest", "cmd", "templates"},
	"runtime/internal/abi": {"manifest", "codegen", "builder", "runtime/host", "runtime/guest", "cmd", "templates"},
	"runtime/host":         {"codegen", "builder", "cmd", "templates", "runtime/guest", "runtime/apptest"},
	// The test harness sits at the top beside the CLI (it builds apps and
	// runs them in both modes); nothing but tests imports it.
	"runtime/apptest": {"cmd"},
}

func TestPackagesImportOnlyDownTheLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module+"/")
		for owner, bans := range forbidden {
			if pkg != owner && !strings.HasPrefix(pkg, owner+"/") {
				continue
			}
			checked++
			for _, imp := range fields[1:] {
				if !strings.HasPrefix(imp, module+"/") {
					continue
				}
				rel := strings.TrimPrefix(imp, module+"/")
				for _, ban := range bans {
					if rel == ban || strings.HasPrefix(rel, ban+"/") {
						t.Errorf("%s imports %s: the layering in docs/ARCHITECTURE.md forbids %s -> %s", pkg, imp, owner, ban)
					}
				}
			}
		}
	}
	if checked < len(forbidden) {
		t.Errorf("checked %d packages, want at least %d: did a package move?", checked, len(forbidden))
	}
}
