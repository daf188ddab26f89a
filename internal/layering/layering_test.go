// Package layering holds a test that keeps the package dependencies pointing
// one way, as docs/ARCHITECTURE.md draws them.
package layering

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "parigot.dev/parigot"

// forbidden lists, for each package (prefix), the parigot packages it must
// not import, and why. A ban covers the packages below it too, except those
// in allowed.
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
	// The gateway is host-side: it serves from descriptors, never from an
	// app's Go code or the guest library.
	"runtime/gateway": {"codegen", "builder", "cmd", "templates", "runtime/guest", "runtime/apptest"},
	// The state engine sits below the host, which hands it the guests'
	// operations: it knows nothing of guests but their endpoints.
	"runtime/state": {"codegen", "builder", "cmd", "templates", "runtime/guest", "runtime/host", "runtime/split", "runtime/apptest"},
	// Outbound HTTP sits below the host, as the state engine does: it
	// knows nothing of guests but their endpoints.
	"runtime/egress": {"codegen", "builder", "cmd", "templates", "runtime/guest", "runtime/host", "runtime/split", "runtime/apptest", "runtime/state", "runtime/gateway"},
	// The test harness sits at the top beside the CLI (it builds apps and
	// runs them in both modes); nothing but tests imports it.
	"runtime/apptest": {"cmd"},
}

// allowed lists, for each package (prefix), the parigot packages it may
// import although a ban in forbidden covers them: the runtime's built-in Ids
// are generated code, which calls boilerplateid/idcore.
var allowed = map[string][]string{
	"runtime/id": {"boilerplateid/idcore"},
}

// only lists, for each package (prefix), every parigot package it may
// import: boilerplateid/idcore, which generated Id code in every app calls,
// stands on the shipped proto alone; internal/fuel, a wasm rewriter the
// host calls, the caches and the guest build command, which the builder,
// the host and the CLI share (the command standing on the way every child
// command is stopped), the file watcher of parigot dev (but for
// genfile's hash of a file, which its snapshots share with the build), the
// OTLP export decoder, the "did you mean" of error messages, the grapheme
// clusters that columns are counted in, the tests' concurrent buffer,
// the runs' temporary directories, the wire comparison of stored
// messages and which parigot this binary is stand on nothing of parigot's.
var only = map[string][]string{
	"boilerplateid/idcore": {"proto/parigot/id/v1"},
	"internal/fuel":        nil,
	"internal/compcache":   nil,
	"internal/guestbuild":  {"internal/child"},
	"internal/child":       nil,
	"internal/progress":    nil,
	"internal/watch":       {"internal/genfile"}, // a snapshot of what a build read hashes files as the build does
	"internal/otlpwire":    nil,
	"internal/browsertest": nil,
	"internal/suggest":     nil,
	"internal/graphemes":   nil,
	"internal/syncbuf":     nil,
	"internal/tempdir":     nil,
	"internal/wirecompat":  nil,
	"internal/buildinfo":   nil,
	// What the dashboard shows is fed by the host, which imports it; it
	// knows nothing of guests but their names, and reads OTLP exports with
	// the decoder the tests' receiver uses.
	"runtime/observe": {"internal/otlpwire"},
}

func but(oks []string) string {
	if len(oks) == 0 {
		return ""
	}
	return " but " + strings.Join(oks, ", ")
}

// under reports whether pkg is prefix or a package below it.
func under(pkg, prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }

func TestPackagesImportOnlyDownTheLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked, checkedOnly := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module+"/")
		var imports []string // the parigot packages pkg imports, module-relative
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, module+"/") {
				imports = append(imports, strings.TrimPrefix(imp, module+"/"))
			}
		}
		for owner, bans := range forbidden {
			if !under(pkg, owner) {
				continue
			}
			checked++
		imports:
			for _, rel := range imports {
				for _, ok := range allowed[owner] {
					if under(rel, ok) {
						continue imports
					}
				}
				for _, ban := range bans {
					if under(rel, ban) {
						t.Errorf("%s imports %s: the layering in docs/ARCHITECTURE.md forbids %s -> %s", pkg, module+"/"+rel, owner, ban)
					}
				}
			}
		}
		for owner, oks := range only {
			if !under(pkg, owner) {
				continue
			}
			checkedOnly++
			for _, rel := range imports {
				if !slices.ContainsFunc(oks, func(ok string) bool { return under(rel, ok) }) {
					t.Errorf("%s imports %s: %s may import no parigot package%s", pkg, module+"/"+rel, owner, but(oks))
				}
			}
		}
	}
	if checked < len(forbidden) || checkedOnly < len(only) {
		t.Errorf("checked %d packages, want at least %d: did a package move?", checked+checkedOnly, len(forbidden)+len(only))
	}
}
