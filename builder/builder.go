package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"parigot.dev/parigot/codegen"
	"parigot.dev/parigot/internal/diag"
	"parigot.dev/parigot/internal/fuel"
	"parigot.dev/parigot/internal/genfile"
	"parigot.dev/parigot/internal/guestbuild"
	"parigot.dev/parigot/internal/progress"
	"parigot.dev/parigot/internal/tempdir"
	"parigot.dev/parigot/manifest"
)

// BuildDir is the directory, inside the app, that guests are compiled into.
const BuildDir = "build"

// Options configures a build.
type Options struct {
	// Dir is the app directory (or its parigot.hcl), as the user gave it;
	// diagnostics show paths relative to it.
	Dir string
	// Live, when Progress is a terminal, keeps a status line of the steps
	// still running at its bottom, rewritten in place.
	Live bool
	// Progress receives one line per step. Nil: no progress.
	Progress io.Writer
	// Jobs bounds parallel guest builds. Zero: the number of CPUs.
	Jobs int
	// GoCommand is the go binary. Empty: "go" from PATH.
	GoCommand string
	// Debug names guests to build natively too, for the debugger (see
	// DebugPath), besides their wasm.
	Debug []string
	// Generated, when set, hears which files code generation wrote
	// (absolute paths; none when the generated code was up to date),
	// before the guests are compiled, so also when their compilation then
	// fails. parigot dev tells its own writes from the user's saves with
	// it.
	Generated func(written []string)
}

// goCommand is the go binary the build runs.
func (o Options) goCommand() string {
	if o.GoCommand == "" {
		return "go"
	}
	return o.GoCommand
}

// Result describes a successful build.
type Result struct {
	App  *manifest.App
	Wasm map[string]string // guest name -> absolute path of its .wasm
	// Debug: guest name -> absolute path of its native build, for the
	// guests Options.Debug names.
	Debug map[string]string
}

// Load reads and validates the manifest alone, without building.
func Load(dir string) (*manifest.App, error) {
	app, diags := manifest.Load(dir)
	return app, diagnosticsError(app, diags)
}

// diagnosticsError is the error of diags when they hold errors, else nil.
func diagnosticsError(app *manifest.App, diags hcl.Diagnostics) error {
	if !diags.HasErrors() {
		return nil
	}
	src := diag.Sources{}
	if app != nil {
		src.Merge(app.Sources)
	}
	return &DiagnosticsError{Diags: diags, Sources: src}
}

// loadForCode is Load for generating code alone, which reads no guest's
// source: a source directory that does not exist yet or holds no main
// package yet is no error but a note, so that code can be generated before
// a new guest's first line is written.
func loadForCode(dir string, p *progress.Reporter) (*manifest.App, error) {
	app, diags := manifest.Load(dir)
	bySource := map[hcl.Range]*manifest.Guest{}
	for _, g := range app.Guests() {
		if g.Source != "" { // no source at all is a mistake in parigot.hcl
			bySource[g.SourceRange] = g
		}
	}
	var kept hcl.Diagnostics
	for _, d := range diags {
		if d.Subject != nil {
			if g := bySource[*d.Subject]; g != nil {
				p.Note("%s %s: %s (source = %q); its code is generated anyway, and parigot build will need its main package there", g.Kind, g.Name, strings.ToLower(d.Summary), g.Source)
				continue
			}
		}
		kept = append(kept, d)
	}
	if err := diagnosticsError(app, kept); err != nil {
		return nil, err
	}
	return app, nil
}

// Build generates code and compiles every guest of the app in opts.Dir.
func Build(ctx context.Context, opts Options) (*Result, error) {
	// Said first: without Go nothing can be built, whatever else is
	// wrong, and no generated code is written on such a machine.
	if _, err := exec.LookPath(opts.goCommand()); err != nil {
		return nil, &NoGoError{Command: opts.goCommand(), Err: err}
	}
	p := progress.New(opts.Progress, opts.Live)
	defer p.Clear()
	start := time.Now()
	app, err := Load(opts.Dir)
	if err != nil {
		return nil, err
	}
	gen, unlock, err := lockAndGenerate(ctx, app, opts.Dir, p)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if opts.Generated != nil {
		opts.Generated(gen.Written)
	}
	if err := writeDescriptors(app, gen); err != nil {
		return nil, err
	}
	work, err := tempdir.Make(tempdir.Build)
	if err != nil {
		return nil, fmt.Errorf("making a work directory for the go command: %w", err)
	}
	defer os.RemoveAll(work)
	wasm, err := compileGuests(ctx, app, gen, opts, work, p)
	if err != nil {
		return nil, err
	}
	debug, err := buildForDebugger(ctx, app, gen, opts, work, p)
	if err != nil {
		return nil, err
	}
	if err := writeRecord(app); err != nil {
		return nil, err
	}
	p.Step(start, "built %s", app.Name)
	return &Result{App: app, Wasm: wasm, Debug: debug}, nil
}

// inWorkDir has the go command cmd keep its work directories (go-build*)
// in work, a directory of the build's own, unless the user chose where
// with GOTMPDIR. go build, unlike go test, does not catch the SIGINT an
// interrupted build sends it (see package child), and leaves its work
// directory behind: in work, the build removes it as it returns, and
// the next parigot command removes what a build killed with SIGKILL left
// (package tempdir).
func inWorkDir(cmd *exec.Cmd, work string) {
	if os.Getenv("GOTMPDIR") == "" {
		cmd.Env = append(cmd.Env, "GOTMPDIR="+work)
	}
}

// DebugPath is where the native build of guest name, for the debugger, is.
func DebugPath(app *manifest.App, name string) string {
	return filepath.Join(app.Dir, BuildDir, "debug", name)
}

// buildForDebugger builds the guests opts.Debug names natively, one after
// the other (they are few, and share most packages).
func buildForDebugger(ctx context.Context, app *manifest.App, gen *codegen.Result, opts Options, work string, p *progress.Reporter) (map[string]string, error) {
	if len(opts.Debug) == 0 {
		return nil, nil
	}
	built := map[string]string{}
	for _, name := range opts.Debug {
		guest := app.Guest(name)
		if guest == nil {
			return nil, fmt.Errorf("--debug names %q, which is not a service or program of %s", name, app.Name)
		}
		t := time.Now()
		out := DebugPath(app, name)
		cmd := guestbuild.DebugCommand(ctx, opts.GoCommand, app.Dir, out, guestPackage(guest), func(s string) { p.Note("%s", s) })
		inWorkDir(cmd, work)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, compileError(name, buf.String(), app.Dir, opts.Dir, gen)
		}
		built[name] = out
		p.Step(t, "compiled %s %s for the debugger -> %s", guest.Kind, name, filepath.Join(BuildDir, "debug", name))
	}
	return built, nil
}

// lockAndGenerate is the first half of a build, once the manifest is
// loaded: it takes the app's build lock and writes the generated code. The
// caller releases the lock with unlock once it is done with the app.
func lockAndGenerate(ctx context.Context, app *manifest.App, dir string, p *progress.Reporter) (gen *codegen.Result, unlock func(), err error) {
	unlock, err = lockApp(app.Dir)
	if err != nil {
		return nil, nil, fmt.Errorf("locking the app for the build: %w", err)
	}
	start := time.Now()
	gen, err = generate(ctx, app, dir)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	for _, n := range gen.Notes {
		p.Note("note: %s", n)
	}
	removed := ""
	if n := len(gen.Removed); n > 0 {
		removed = fmt.Sprintf(", %d removed", n)
	}
	p.Step(start, "generated Go code: %d files, %d changed%s", len(gen.Files), len(gen.Written), removed)
	return gen, unlock, nil
}

// displayDir is the app's directory as the user named it: dir (Options.Dir),
// or the directory of the manifest file dir names.
func displayDir(dir string) string {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return filepath.Dir(dir)
	}
	return dir
}

func generate(ctx context.Context, app *manifest.App, dir string) (*codegen.Result, error) {
	modDiags := app.CheckGoModule()
	if modDiags.HasErrors() {
		return nil, &DiagnosticsError{Diags: modDiags, Sources: app.Sources}
	}
	in, err := codegenInput(app, dir)
	if err != nil {
		return nil, err
	}
	gen, err := compileProtos(ctx, app, in)
	if err != nil {
		return nil, err
	}
	for _, d := range modDiags { // warnings alone
		gen.Notes = append(gen.Notes, fmt.Sprintf("%s:%d: %s: %s", d.Subject.Filename, d.Subject.Start.Line, d.Summary, d.Detail))
	}
	for _, f := range gen.Removed {
		rel, _ := filepath.Rel(app.Dir, f)
		gen.Notes = append(gen.Notes, fmt.Sprintf("removed %s: the app's protos no longer generate it", filepath.ToSlash(rel)))
	}
	files, written, removed, diags := generateIds(app, gen.Types, in.AppDirs)
	if diags.HasErrors() {
		return nil, &DiagnosticsError{Diags: diags, Sources: appSources(app, gen)}
	}
	for _, f := range removed {
		rel, _ := filepath.Rel(app.Dir, f)
		gen.Notes = append(gen.Notes, fmt.Sprintf("removed %s: no id block of parigot.hcl generates it now", filepath.ToSlash(rel)))
	}
	gen.Removed = append(gen.Removed, removed...)
	gen.Files = append(gen.Files, files...)
	gen.Written = append(gen.Written, written...)
	return gen, nil
}

// codegenInput is what codegen is given of app, whose directory the user
// named dir: every proto block, the gateways' services, and the
// manifest's checks against the protos (Input.Check).
func codegenInput(app *manifest.App, dir string) (codegen.Input, error) {
	// Where the app's stale generated files may be, for codegen's and for
	// the id blocks': looked up once.
	appDirs, err := genfile.AppDirs(app.Dir, manifest.FileName, BuildDir)
	if err != nil {
		return codegen.Input{}, fmt.Errorf("looking for the app's stale generated files: %w", err)
	}
	in := codegen.Input{AppDir: app.Dir, DisplayDir: displayDir(dir), Module: app.Module, Implemented: map[string]bool{}, AppDirs: appDirs}
	for _, s := range app.Services {
		for _, impl := range s.Implements {
			in.Implemented[impl] = true
		}
	}
	for _, g := range app.Gateways {
		cg := codegen.Gateway{Name: g.Name}
		for _, name := range g.Services {
			if s := app.Guest(name); s != nil {
				cg.Guests = append(cg.Guests, codegen.GatewayGuest{Name: name, Implements: s.Implements})
			}
		}
		in.Gateways = append(in.Gateways, cg)
	}
	// Every proto block, always: codegen removes the generated files its
	// protos do not produce, so a subset would take the others' files.
	for _, p := range app.Protos {
		in.Sets = append(in.Sets, codegen.ProtoSet{Root: p.Root, Files: p.Files, Ranges: p.FileRanges})
	}
	// The manifest's checks against the protos run inside Generate,
	// before it writes or removes a file: a service naming a proto service
	// that no longer exists must not cost the app its generated code.
	in.Check = func(services map[string]*codegen.Service, messages map[string]bool) hcl.Diagnostics {
		defined := make(map[string]bool, len(services))
		methods := map[string]bool{}
		for name, s := range services {
			defined[name] = true
			for _, m := range s.Methods {
				methods[name+"/"+m.Name] = true
			}
		}
		diags := app.CheckImplements(defined)
		if !diags.HasErrors() {
			diags = app.CheckSubscriptions(methods)
		}
		return append(diags, app.CheckStoreValues(messages)...)
	}
	return in, nil
}

// compileProtos runs codegen on in, app's input, and returns its result,
// or its diagnostics as a DiagnosticsError.
func compileProtos(ctx context.Context, app *manifest.App, in codegen.Input) (*codegen.Result, error) {
	gen, diags := codegen.Generate(ctx, in)
	if diags.HasErrors() {
		return nil, &DiagnosticsError{Diags: diags, Sources: appSources(app, gen)}
	}
	return gen, nil
}

// appSources are the sources diagnostics of app may point into: its
// manifest's, and the protos' gen compiled (gen may be nil).
func appSources(app *manifest.App, gen *codegen.Result) diag.Sources {
	src := diag.Sources{}
	src.Merge(app.Sources)
	if gen != nil {
		src.Merge(gen.Sources)
	}
	return src
}

// DescriptorsFile is the file, in BuildDir, holding the compiled
// descriptors of the app's protos and their imports: a FileDescriptorSet in
// protobuf's binary form, which the gateway serves the app's services from
// (and which `buf curl --schema` or `grpcurl -protoset` read).
const DescriptorsFile = "descriptors.binpb"

// DescriptorsPath is where the descriptors of app's protos are written.
func DescriptorsPath(app *manifest.App) string {
	return filepath.Join(app.Dir, BuildDir, DescriptorsFile)
}

// writeDescriptors writes the descriptors of the protos codegen compiled,
// when they changed: an empty set for an app without protos, so that
// whoever reads them (the gateway, the dashboard's explorer) finds a file
// after every build. Build writes them beside the guests it compiles;
// generating code alone writes nothing into build/.
func writeDescriptors(app *manifest.App, gen *codegen.Result) error {
	set := gen.Descriptors
	if set == nil {
		set = &descriptorpb.FileDescriptorSet{}
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(set)
	if err != nil {
		return fmt.Errorf("encoding the proto descriptors: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(app.Dir, BuildDir), 0o755); err != nil {
		return fmt.Errorf("creating the build directory: %w", err)
	}
	if _, err := genfile.WriteIfChanged(DescriptorsPath(app), b); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Join(BuildDir, DescriptorsFile), err)
	}
	return nil
}

// guestPackage is the go command's package path of guest's source, from
// the app's directory.
func guestPackage(guest *manifest.Guest) string {
	return "./" + filepath.ToSlash(strings.TrimPrefix(filepath.Clean(guest.Source), "./"))
}

// WasmPath is where the guest named name of app is built.
func WasmPath(app *manifest.App, name string) string {
	return filepath.Join(app.Dir, BuildDir, name+".wasm")
}

func compileGuests(ctx context.Context, app *manifest.App, gen *codegen.Result, opts Options, work string, p *progress.Reporter) (map[string]string, error) {
	if err := removeStale(app, p); err != nil {
		return nil, err
	}
	if len(app.Guests()) == 0 {
		return map[string]string{}, nil // no build directory for nothing to build
	}
	if err := os.MkdirAll(filepath.Join(app.Dir, BuildDir), 0o755); err != nil {
		return nil, fmt.Errorf("creating the build directory: %w", err)
	}

	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = goruntime.NumCPU()
	}
	if firstBuild(ctx, opts.GoCommand, opts.Dir, p) {
		// Guests built side by side would each compile the standard
		// library: the go command shares its cache, not work in progress.
		jobs = 1
	}
	stop := p.Watch()
	defer stop()
	goCmd := opts.goCommand()
	wasm := map[string]string{}
	var mu sync.Mutex
	var failures []*CompileError
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for _, guest := range app.Guests() {
		g.Go(func() error {
			t := time.Now()
			p.Begin(guest.Name)
			defer p.End(guest.Name)
			out := WasmPath(app, guest.Name)
			before := genfile.Sum(out)
			cmd := guestbuild.Command(gctx, goCmd, app.Dir, out, guestPackage(guest), func(s string) { p.Note("%s", s) })
			inWorkDir(cmd, work)
			var buf bytes.Buffer
			cmd.Stdout, cmd.Stderr = &buf, &buf
			if err := cmd.Run(); err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				var exitErr *exec.ExitError
				if !errors.As(err, &exitErr) {
					return fmt.Errorf("running %s build for guest %s: %w", goCmd, guest.Name, err)
				}
				mu.Lock()
				failures = append(failures, compileError(guest.Name, buf.String(), app.Dir, opts.Dir, gen))
				mu.Unlock()
				return nil
			}
			if err := instrument(out); err != nil {
				return fmt.Errorf("guest %s: %w", guest.Name, err)
			}
			mu.Lock()
			wasm[guest.Name] = out
			mu.Unlock()
			if before != nil && *before == *genfile.Sum(out) {
				// The go command found it up to date (it only touched the
				// file), and it was instrumented already.
				p.Step(t, "%s %s is up to date: %s", guest.Kind, guest.Name, filepath.Join(BuildDir, guest.Name+".wasm"))
				return nil
			}
			p.Step(t, "compiled %s %s -> %s", guest.Kind, guest.Name, filepath.Join(BuildDir, guest.Name+".wasm"))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if len(failures) > 0 {
		sort.Slice(failures, func(i, j int) bool { return failures[i].Guest < failures[j].Guest })
		hintOnce(failures)
		errs := make([]error, len(failures))
		for i, f := range failures {
			errs[i] = f
		}
		return nil, errors.Join(errs...)
	}
	return wasm, nil
}

// removeStale removes from the build directory the .wasm of guests that
// parigot.hcl no longer declares, so that build/ holds what a run runs.
func removeStale(app *manifest.App, p *progress.Reporter) error {
	files, err := filepath.Glob(filepath.Join(app.Dir, BuildDir, "*.wasm"))
	if err != nil {
		return err
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".wasm")
		if app.Guest(name) != nil {
			continue
		}
		rel := filepath.Join(BuildDir, filepath.Base(f))
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing %s, built for a guest no longer in parigot.hcl: %w", rel, err)
		}
		p.Note("removed %s: parigot.hcl declares no guest %s any more", rel, name)
	}
	return nil
}

// firstBuild reports whether this is the first build of guests with this
// Go version and Go build cache, and then says what it costs: the go
// command finds no standard library compiled for guests in its cache.
// When the go command cannot say, it is not.
func firstBuild(ctx context.Context, goCmd, dir string, p *progress.Reporter) bool {
	compiled, version, err := guestbuild.StdCompiled(ctx, goCmd, dir)
	if err != nil || compiled {
		return false
	}
	p.Note("first build of guests with %s on this machine: the go command compiles the Go standard library and the app's dependencies for wasip1 once, which can take a minute; later builds take seconds", version)
	return true
}

// instrument rewrites the guest at path with internal/fuel's interruption
// checks, once: the host would otherwise do it at every start (tens of
// milliseconds a guest), and a module that has them is left as it is. The
// go command sees the file as up to date all the same (its build ID
// section is kept), so an unchanged guest is neither relinked nor
// rewritten. A module the rewriter does not handle is left for the host,
// which falls back to wazero's checks.
func instrument(path string) error {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	counted, err := fuel.Instrument(wasm)
	if err != nil || bytes.Equal(counted, wasm) {
		return nil
	}
	tmp := path + ".fuel"
	if err := os.WriteFile(tmp, counted, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	return os.Rename(tmp, path)
}
