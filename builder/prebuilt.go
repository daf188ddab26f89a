package builder

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"parigot.dev/parigot/internal/buildinfo"
	"parigot.dev/parigot/manifest"
)

// NoGoError is a build on a machine where the go command, which compiles
// the guests, cannot be found. Nothing is generated or compiled then.
type NoGoError struct {
	Command string // the go command looked for ("go": on PATH)
	Err     error  // why it was not found
}

func (e *NoGoError) Error() string {
	return fmt.Sprintf("building the app's guests needs the go command, and %q cannot be run (%v): install Go (https://go.dev/dl/)", e.Command, e.Err)
}

func (e *NoGoError) Unwrap() error { return e.Err }

// PrebuiltError says why an app's build directory cannot be run as it is
// (Prebuilt): what is missing from it or what it was made from instead.
type PrebuiltError struct {
	// Path is the file or directory at fault, from the app's directory as
	// the user named it.
	Path string
	// Problem says what is wrong with it.
	Problem string
}

func (e *PrebuiltError) Error() string {
	return fmt.Sprintf("%s %s: run parigot build for this %s where Go is installed, and copy its %s/ here", e.Path, e.Problem, manifest.FileName, BuildDir)
}

// LoadBuilt reads the manifest in dir for running what the app's build
// directory holds, on a machine that may have nothing else of the app: it
// checks neither the guests' sources nor the protos (their files, or the
// buf.yaml that lists them), which the build read and the run does not:
// the run reads the app's protos from the descriptors the build wrote
// (DescriptorsPath). Prebuilt checks the build directory itself.
func LoadBuilt(dir string) (*manifest.App, error) {
	app, diags := manifest.Load(dir)
	built := map[hcl.Range]bool{}
	for _, r := range app.BuildInputRanges {
		built[r] = true
	}
	var kept hcl.Diagnostics
	for _, d := range diags {
		if d.Subject == nil || !built[*d.Subject] {
			kept = append(kept, d)
		}
	}
	if err := diagnosticsError(app, kept); err != nil {
		return nil, err
	}
	return app, nil
}

// Prebuilt is Build for a machine without Go: it reads the manifest in dir
// (LoadBuilt) and returns the guests its build directory holds, as an
// earlier build made them, maybe on another machine; it generates and
// compiles nothing. It refuses, with a *PrebuiltError, a build directory
// that lacks a guest's wasm, the proto descriptors or the build's record,
// or that was built from another parigot.hcl: what runs would not be what
// the manifest says. One built by another parigot is said on progress
// (when not nil), and runs: the host refuses, as it starts, a guest that
// needs a host function it lacks.
func Prebuilt(dir string, progress io.Writer) (*Result, error) {
	app, err := LoadBuilt(dir)
	if err != nil {
		return nil, err
	}
	shown := func(file string) string { return filepath.Join(displayDir(dir), BuildDir, file) }
	if _, err := os.Stat(filepath.Join(app.Dir, BuildDir)); err != nil {
		return nil, &PrebuiltError{Path: shown(""), Problem: unreadable(err)}
	}
	// The record first: a build of another parigot.hcl is said as such,
	// not as the guests it lacks.
	other, err := checkRecord(app, shown(RecordFile))
	if err != nil {
		return nil, err
	}
	wasm := map[string]string{}
	var files, guests []string // the guests whose wasm is missing
	for _, g := range app.Guests() {
		path := WasmPath(app, g.Name)
		if _, err := os.Stat(path); err != nil {
			files = append(files, shown(g.Name+".wasm"))
			guests = append(guests, fmt.Sprintf("%s %s", g.Kind, g.Name))
			continue
		}
		wasm[g.Name] = path
	}
	if len(files) > 0 {
		return nil, &PrebuiltError{Path: strings.Join(files, ", "), Problem: fmt.Sprintf("%s missing: %s declares the %s, and the build directory was made without %s (from another %s, or not completely)",
			plural(len(files), "is", "are"), manifest.FileName, strings.Join(guests, ", "), plural(len(files), "it", "them"), manifest.FileName)}
	}
	if _, err := os.Stat(DescriptorsPath(app)); err != nil {
		return nil, &PrebuiltError{Path: shown(DescriptorsFile), Problem: unreadable(err) + " (the run serves the app's protos from it, and compares them across machines)"}
	}
	if other != "" && progress != nil {
		fmt.Fprintf(progress, "parigot: note: %s was built by parigot %s, and this is parigot %s: its guests run if this parigot has every host function they import, and are refused as they start otherwise\n", shown(""), other, buildinfo.Read())
	}
	return &Result{App: app, Wasm: wasm}, nil
}

// checkRecord refuses a build of app recorded (at shown) as made from
// another manifest, or not recorded; other is the parigot that made it
// when that is not this one.
func checkRecord(app *manifest.App, shown string) (other string, err error) {
	got, err := readRecord(app)
	if err != nil {
		return "", &PrebuiltError{Path: shown, Problem: unreadable(err) + " (parigot build writes it, to say what the build was made from)"}
	}
	want, err := recordOf(app)
	if err != nil {
		return "", err
	}
	same := got.ManifestTokens == want.ManifestTokens
	problem := fmt.Sprintf("was built from another %s than %s", manifest.FileName, app.File)
	if got.ManifestTokens == "" {
		// The record of a parigot from before ManifestTokens, which says
		// which bytes the build read and nothing else.
		same = got.Manifest == want.Manifest
		problem += " (its record, written by an earlier parigot, holds the file's bytes, so an edited comment or indentation counts too)"
	}
	if !same {
		return "", &PrebuiltError{Path: filepath.Dir(shown), Problem: problem}
	}
	if got.Parigot != want.Parigot {
		return got.Parigot, nil
	}
	return "", nil
}

// unreadable says briefly why a file could not be read.
func unreadable(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "is missing"
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		err = pathErr.Err // the path is said already
	}
	return fmt.Sprintf("cannot be read (%v)", err)
}

// plural is one or many, as n says.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
