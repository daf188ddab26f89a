package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

func TestLoadDecodesAFullManifest(t *testing.T) {
	app, diags := Load("testdata/app")
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", describe(diags))
	}
	dir, err := filepath.Abs("testdata/app")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("testdata", "app", FileName)

	// Ranges are checked below, separately from the decoded values.
	if got, want := app.NameRange, rng(file, 1, 5, 1, 17); !sameRange(got, want) {
		t.Errorf("app NameRange = %v, want %v", got, want)
	}
	if got, want := app.Ids[0].LetterRange, rng(file, 11, 12, 11, 15); !sameRange(got, want) {
		t.Errorf("Order LetterRange = %v, want %v", got, want)
	}
	if got, want := app.Protos[0].FileRanges[1], rng(file, 7, 48, 7, 76); !sameRange(got, want) {
		t.Errorf("second proto file range = %v, want %v", got, want)
	}
	greeting := app.Guest("greeting")
	if greeting == nil {
		t.Fatal(`Guest("greeting") = nil`)
	}
	if got, want := greeting.DeclRange, rng(file, 23, 1, 23, 19); !sameRange(got, want) {
		t.Errorf("greeting DeclRange = %v, want %v", got, want)
	}
	if got, want := greeting.RequiresRanges[0], rng(file, 26, 21, 26, 34); !sameRange(got, want) {
		t.Errorf("greeting RequiresRanges[0] = %v, want %v", got, want)
	}
	if got, want := greeting.ImplementsRanges[0], rng(file, 25, 21, 25, 43); !sameRange(got, want) {
		t.Errorf("greeting ImplementsRanges[0] = %v, want %v", got, want)
	}
	if len(app.Sources[file]) == 0 {
		t.Errorf("Sources has no entry for %s", file)
	}
	// The values naming what only the build reads, in the file's order.
	inputs := append([]hcl.Range{app.Protos[0].RootRange}, app.Protos[0].FileRanges...)
	for _, g := range app.Guests() {
		inputs = append(inputs, g.SourceRange)
	}
	slices.SortFunc(inputs, func(a, b hcl.Range) int { return a.Start.Byte - b.Start.Byte })
	if !reflect.DeepEqual(app.BuildInputRanges, inputs) {
		t.Errorf("BuildInputRanges = %v, want the proto's root and files and the guests' sources, %v", app.BuildInputRanges, inputs)
	}
	clearRanges(app)
	app.Sources = nil

	want := &App{
		Name:   "helloworld",
		Module: "parigot.dev/parigot/examples/helloworld",
		Dir:    dir,
		File:   file,
		Protos: []*Proto{{
			Name:  "greeting",
			Root:  "proto",
			Files: []string{"proto/greeting/v1/greeting.proto", "proto/other/v1/other.proto"},
		}},
		Ids: []*IdType{
			{Name: "Order", Letter: "o"},
			{Name: "Customer", Letter: "c"},
		},
		Services: []*Guest{
			{
				Name:          "greeting",
				Kind:          KindService,
				Source:        "./greeting",
				Dir:           filepath.Join(dir, "greeting"),
				Implements:    []string{"greeting.v1.Greeting"},
				Requires:      []string{"other"},
				MethodTimeout: 2 * time.Second,
				Replicas:      3,
				OnOverrun:     OverrunReport,
				Restart:       RestartOnFailure,
				MemoryLimit:   64 << 20,
			},
			{
				Name:          "other",
				Kind:          KindService,
				Source:        "./other",
				Dir:           filepath.Join(dir, "other"),
				Implements:    []string{"other.v1.Other", "other.v1.Admin"},
				MethodTimeout: DefaultMethodTimeout,
				Replicas:      1,
				OnOverrun:     OverrunStop,
				Restart:       RestartNever,
				MemoryLimit:   DefaultMemoryLimit,
			},
		},
		Programs: []*Guest{{
			Name:          "hello",
			Kind:          KindProgram,
			Source:        "./hello",
			Dir:           filepath.Join(dir, "hello"),
			Requires:      []string{"greeting", "other"},
			MethodTimeout: DefaultMethodTimeout,
			Replicas:      1,
			MemoryLimit:   DefaultMemoryLimit,
		}},
	}
	if !reflect.DeepEqual(app, want) {
		t.Errorf("Load decoded\n%s\nwant\n%s", dump(app), dump(want))
	}
}

func TestParseDefaults(t *testing.T) {
	src := `
app "a" {
  module = "example.com/a"
}
proto "greeting" {
  files = ["proto/greeting/v1/greeting.proto"]
}
service "greeting" {
  source     = "./greeting"
  implements = ["greeting.v1.Greeting"]
}
`
	app, diags := Parse("parigot.hcl", []byte(src), "testdata/app")
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", describe(diags))
	}
	if got := app.Protos[0].Root; got != "." {
		t.Errorf("default proto root = %q, want %q", got, ".")
	}
	g := app.Services[0]
	if g.MethodTimeout != DefaultMethodTimeout || g.Replicas != 1 || g.Requires != nil {
		t.Errorf("defaults: method_timeout %v, replicas %d, requires %v; want %v, 1, none", g.MethodTimeout, g.Replicas, g.Requires, DefaultMethodTimeout)
	}
}

func TestLoadNamesRangesByThePathGiven(t *testing.T) {
	for _, path := range []string{"testdata/app", "testdata/app/parigot.hcl"} {
		t.Run("loading "+path, func(t *testing.T) {
			app, diags := Load(path)
			if len(diags) > 0 {
				t.Fatalf("unexpected diagnostics:\n%s", describe(diags))
			}
			want := filepath.Join("testdata", "app", "parigot.hcl")
			if app.File != want || app.NameRange.Filename != want {
				t.Errorf("File %q, NameRange.Filename %q; want %q", app.File, app.NameRange.Filename, want)
			}
		})
	}
}

func TestLoadSaysWhichPathItLookedAtWhenThereIsNoManifest(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	os.Mkdir("empty", 0o755)
	os.MkdirAll(filepath.Join("weird", FileName), 0o755)
	for _, c := range []struct {
		name, path, want string // want: the rendered text, unwrapped, with dir as <dir>
	}{
		{"a directory that does not exist is named absolutely, with parigot init to create it", "./nope",
			"Error: App directory not found " +
				"There is no directory <dir>/nope. Give the directory of an app (the one holding its parigot.hcl), or create an app there with parigot init ./nope."},
		{"a directory without parigot.hcl is named absolutely", "empty",
			"Error: Not an app directory " +
				"There is no parigot.hcl in <dir>/empty. Run parigot in an app directory, give the app's directory or its parigot.hcl, or create an app with parigot init."},
		{"the current directory without parigot.hcl is named absolutely", ".",
			"Error: Not an app directory " +
				"There is no parigot.hcl in <dir>. Run parigot in an app directory, give the app's directory or its parigot.hcl, or create an app with parigot init."},
		{"a manifest file that does not exist is named absolutely", "other.hcl",
			"Error: Manifest not found " +
				"There is no file <dir>/other.hcl. Give the app's manifest file, or the directory holding its parigot.hcl."},
	} {
		t.Run(c.name, func(t *testing.T) {
			app, diags := Load(c.path)
			if app == nil {
				t.Fatal("Load returned a nil App")
			}
			if len(diags) != 1 || diags[0].Subject != nil {
				t.Fatalf("want one diagnostic without a source position, got:\n%s", describe(diags))
			}
			got := strings.Join(strings.Fields(strings.ReplaceAll(render(t, app, diags), dir, "<dir>")), " ")
			if got != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
	t.Run("a manifest that cannot be read says why, naming it absolutely", func(t *testing.T) {
		_, diags := Load("weird")
		want := "Reading " + filepath.Join(dir, "weird", FileName) + " failed: is a directory."
		if len(diags) != 1 || diags[0].Summary != "Cannot read manifest" || diags[0].Detail != want {
			t.Errorf("got:\n%s\nwant detail %q", describe(diags), want)
		}
	})
}

func TestLoadChecksSourcesRelativeToTheAppDirectory(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, FileName), `
app "a" {
  module = "example.com/a"
}
program "hello" {
  source = "./cmd/hello"
}
program "bye" {
  source = "./cmd/bye"
}
`)
	write(t, filepath.Join(dir, "cmd", "hello", "main.go"), "// Hello says hello.\npackage main\n\nfunc main() {}\n")
	write(t, filepath.Join(dir, "cmd", "bye", "bye.go"), "package bye\n")
	write(t, filepath.Join(dir, "cmd", "bye", "main.go"), "package main\n\nfunc main() {}\n")
	app, diags := Load(dir)
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", describe(diags))
	}
	if got, want := app.Guest("hello").Dir, filepath.Join(dir, "cmd", "hello"); got != want {
		t.Errorf("hello Dir = %q, want %q", got, want)
	}
	if app.Guest("nobody") != nil {
		t.Errorf(`Guest("nobody") is not nil`)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindService: "service", KindProgram: "program", 0: "Kind(0)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

func rng(file string, l1, c1, l2, c2 int) hcl.Range {
	return hcl.Range{Filename: file, Start: hcl.Pos{Line: l1, Column: c1}, End: hcl.Pos{Line: l2, Column: c2}}
}

// sameRange compares ranges by file, line and column.
func sameRange(a, b hcl.Range) bool {
	return a.Filename == b.Filename &&
		a.Start.Line == b.Start.Line && a.Start.Column == b.Start.Column &&
		a.End.Line == b.End.Line && a.End.Column == b.End.Column
}

// clearRanges zeroes every range in app, so that the decoded values can be
// compared with reflect.DeepEqual.
func clearRanges(app *App) {
	app.NameRange, app.ModuleRange, app.BuildInputRanges = hcl.Range{}, hcl.Range{}, nil
	for _, p := range app.Protos {
		p.DeclRange, p.RootRange, p.FileRanges = hcl.Range{}, hcl.Range{}, nil
	}
	for _, id := range app.Ids {
		id.DeclRange, id.LetterRange = hcl.Range{}, hcl.Range{}
	}
	for _, g := range app.Guests() {
		g.DeclRange, g.NameRange, g.SourceRange = hcl.Range{}, hcl.Range{}, hcl.Range{}
		g.ImplementsRanges, g.RequiresRanges = nil, nil
	}
}

func dump(app *App) string {
	var b strings.Builder
	fmt.Fprintf(&b, "app %q module %q dir %q file %q", app.Name, app.Module, app.Dir, app.File)
	for _, p := range app.Protos {
		fmt.Fprintf(&b, "\n  proto %+v", *p)
	}
	for _, id := range app.Ids {
		fmt.Fprintf(&b, "\n  id %+v", *id)
	}
	for _, g := range app.Guests() {
		fmt.Fprintf(&b, "\n  guest %+v", *g)
	}
	return b.String()
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestParseGatewayCORSOrigins(t *testing.T) {
	src := `
app "a" {
  module = "example.com/a"
}
proto "greeting" {
  files = ["proto/greeting/v1/greeting.proto"]
}
service "greeting" {
  source     = "./greeting"
  implements = ["greeting.v1.Greeting"]
}
gateway "public" {
  services     = [service.greeting]
  cors_origins = ["https://shop.example.com", "http://localhost:5173"]
}
gateway "internal" {
  listen   = "127.0.0.1:8081"
  services = [service.greeting]
}
`
	app, diags := Parse("parigot.hcl", []byte(src), "testdata/app")
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", describe(diags))
	}
	if got, want := app.Gateway("public").CORSOrigins, []string{"https://shop.example.com", "http://localhost:5173"}; !reflect.DeepEqual(got, want) {
		t.Errorf("public's CORSOrigins = %q, want %q", got, want)
	}
	if got := app.Gateway("internal").CORSOrigins; got != nil {
		t.Errorf("a gateway without cors_origins allows %q, want none", got)
	}
}
