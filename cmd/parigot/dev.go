package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/internal/compcache"
	"parigot.dev/parigot/internal/genfile"
	"parigot.dev/parigot/internal/tempdir"
	"parigot.dev/parigot/internal/watch"
	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/gateway"
	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/observe"
	"parigot.dev/parigot/runtime/state"
)

func newDevCommand(stdout, stderr io.Writer) *cobra.Command {
	var (
		listen, data string
		ephemeral    bool
		obs          observeFlags
	)
	cmd := &cobra.Command{
		Use:   "dev [app-dir] [--listen ADDR] [--dashboard ADDR] [--otlp URL] [--log-format text|json]",
		Short: "Run the app, and rebuild and reload what changes each time a file is saved",
		Long: `dev builds and runs the app in app-dir (default: the current directory) in
one process, like 'parigot run', then watches its sources: Go files, .proto
files, go.mod, buf.yaml and parigot.hcl. Each time files are saved it rebuilds, and
swaps in only the guests whose build changed:

  - a changed service gets the calls that come while it is swapped once
    its new version is ready: no call is lost, and the other services keep
    running and keep what they hold in memory;
  - a changed program starts again in its new version, and a program that
    had ended runs again, to show what the change does; a program that
    still runs and did not change runs on;
  - a change to parigot.hcl restarts the whole app, once it builds, and so
    does a .proto change that alters what the app's gateways serve; the
    gateways keep their addresses, and a client that connects meanwhile
    waits for the new app;
  - a service that went down (it crashed, its restarts spent) starts again
    at every save, in its new version or as it was.

A build that fails is shown, and the app runs on as it was until the next
save. Services keep serving when the programs end; Ctrl-C stops the app.

--dashboard, --otlp and --log-format show what the app does, as they do for
'parigot run': the dashboard keeps its address, its traces and its lines
across reloads and restarts (the counters of its metrics start again at a
restart of the app). dev takes no --debug: a reload swaps wasm guests, and a
guest under the debugger runs natively; use 'parigot run --debug'.`,
		Example: `  parigot dev
  parigot dev ./examples/helloworld
  parigot dev ./examples/bookstore --listen 127.0.0.1:0

  # the dashboard (and /metrics) on a fixed address, through every reload
  parigot dev --dashboard 127.0.0.1:7070 ./examples/helloworld

  # spans to a collector, and the guests' lines as JSON records
  parigot dev --otlp http://127.0.0.1:4318 --log-format json`,
		Args: maxOneDir,
		RunE: func(cmd *cobra.Command, args []string) error {
			tempdir.Sweep(os.TempDir()) // what runs killed with kill -9 left
			if err := checkAddress("listen", listen); err != nil {
				return err
			}
			if err := obs.check(); err != nil {
				return err
			}
			if data != "" && ephemeral {
				return usageError{err: fmt.Errorf("--data keeps the stores and topics in a directory, --ephemeral in memory only: give one or the other")}
			}
			if _, err := compcache.PolicyFromEnv(); err != nil {
				return err
			}
			app, err := builder.Load(appDir(args))
			if err != nil && !manifestReadable(app) {
				return err
			}
			// A manifest with mistakes: the first build shows them, and
			// the app starts at the save that fixes them.
			d := &devSession{dir: appDir(args), appDir: app.Dir, manifest: app.File, listen: listen, data: data, ephem: ephemeral, obs: obs,
				stdout: stdout, stderr: stderr, own: host.OwnLines(stderr, obs.json())}
			return d.loop(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "the address (host:port; port 0: a free one) of the app's gateway, instead of its listen in parigot.hcl")
	cmd.Flags().StringVar(&data, "data", "", "where the app's stores and topics are kept (default: .parigot/data in the app's directory), as for parigot run")
	cmd.Flags().BoolVar(&ephemeral, "ephemeral", false, "keep the app's stores and topics in memory only: they end with each restart of the app")
	obs.declare(cmd)
	return cmd
}

// manifestReadable reports whether Load read app's manifest, whatever
// mistakes it holds: Load keeps the contents of what it read in Sources.
func manifestReadable(app *manifest.App) bool {
	_, read := app.Sources[app.File]
	return read
}

// devSession is one parigot dev: the app's current run, and the builds of
// its guests that run has.
//
// Every field is owned by the goroutine running loop, but for what the
// current run's goroutine sends on ended.
type devSession struct {
	dir      string // as the user gave it
	appDir   string // absolute
	manifest string // path of the manifest file parigot.hcl
	listen   string // --listen: the gateway's address, or ""
	data     string // --data: where the stores and topics are kept, or "" for the default
	ephem    bool   // --ephemeral: in memory only
	obs      observeFlags
	stdout   io.Writer
	stderr   io.Writer // the guests' output goes to it
	own      io.Writer // parigot's own lines, the builds' included: JSON records with --log-format json

	// dash is --dashboard's, served from loop's start to its end: each
	// run shows its page there. tracing, for --otlp and the dashboard,
	// starts with the first run and lasts until loop's end, unless the
	// app's name changes (the spans' service.name): tracedApp.
	dash      *dashboard
	tracing   *observe.Tracing
	tracedApp string

	// held keeps the gateways' sockets open across restarts of the app:
	// a client that connects meanwhile waits instead of being refused.
	held    *gateway.Held
	running bool // a run is going on
	// manifestPending: a change to parigot.hcl whose build failed; the app
	// restarts at the next build that succeeds, whatever save brings it.
	manifestPending bool
	// schema is the hash of the descriptors the running app's gateways
	// and the dashboard's API explorer serve from, when it has either: a
	// .proto change that alters them restarts the app, since a reload swaps
	// guests, not gateways. servesGateways: the app has gateways.
	schema         *[32]byte
	servesGateways bool
	reloads        chan host.Reload    // to the current run
	stop           context.CancelFunc  // ends the current run
	ended          chan error          // the current run's error, once it is over
	builds         map[string][32]byte // guest name -> hash of the .wasm the run has
	// generated holds what code generation last wrote to each file, by
	// path relative to appDir: the watcher reports those writes like a
	// user's saves, and a batch of nothing else is no change to build.
	generated map[string][32]byte
	// read is what the app's files held as the last build began, and
	// readBy when it ended: a change the watcher reports afterwards for a
	// file that build read as it still is (its events came late, on a
	// busy machine) is no save to build again for.
	read   *watch.Snapshot
	readBy time.Time
}

// loop runs the app and rebuilds on every batch of changes, until ctx ends.
func (d *devSession) loop(ctx context.Context) error {
	w, err := watch.New(d.appDir, skipForDev)
	if err != nil {
		return err
	}
	defer w.Close()
	if d.obs.dashboard != "" {
		// Before the first build, so that an address taken is said at
		// once; the dashboard keeps it for every run.
		if d.dash, err = listenDashboard(d.obs.dashboard, d.own); err != nil {
			return err
		}
		defer d.dash.stop()
	}
	defer func() { stopTracing(d.tracing, d.own) }() // once the run has stopped
	d.held = gateway.NewHeld()
	defer d.notRunning() // once the run has stopped: deferred calls run last first
	defer d.stopRun()

	d.start(ctx)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-w.Errors():
			d.say("watching the app's files: %v", err)
		case err := <-d.ended:
			d.running = false
			d.notRunning()
			if err != nil && ctx.Err() == nil {
				report(err, d.own)
				d.say("the app stopped; save a change to start it again")
			}
		case batch := <-w.Changes():
			d.changed(ctx, batch)
		}
	}
}

// changed rebuilds after a batch of changes and reloads, or restarts, the
// app.
func (d *devSession) changed(ctx context.Context, batch []string) {
	batch = slices.DeleteFunc(batch, func(rel string) bool { return d.wroteItself(rel) || d.lastBuildRead(rel) })
	if len(batch) == 0 {
		return // only the generated code the last build wrote, or what it read
	}
	manifestName := filepath.Base(d.manifest)
	switch {
	case !d.running:
		d.start(ctx)
	case slices.Contains(batch, manifestName) || d.manifestPending:
		d.restart(ctx, manifestName)
	default:
		d.reload(ctx)
	}
}

// start builds the app and starts running it; a failed build is shown, and
// the next change tries again.
func (d *devSession) start(ctx context.Context) {
	res, err := d.build(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.say("the app is not running; save a fix to start it")
		}
		return
	}
	d.run(ctx, res)
}

// restart builds the app after a change to its manifest and, once that
// build succeeds, stops the running app and starts the new one: a manifest
// that does not build leaves the app running as it was, as any other
// failed build does.
func (d *devSession) restart(ctx context.Context, manifestName string) {
	res, err := d.build(ctx)
	if err != nil {
		d.manifestPending = true
		if ctx.Err() == nil {
			d.say("the app runs on as it was; save a fix to try again")
		}
		return
	}
	d.manifestPending = false
	d.say("%s changed: restarting the app", manifestName)
	d.rerun(ctx, res)
}

// run starts running the app res built.
func (d *devSession) run(ctx context.Context, res *builder.Result) {
	d.builds = hashBuilds(res.Wasm)
	runCtx, stop := context.WithCancel(ctx)
	d.reloads = make(chan host.Reload)
	d.stop = stop
	d.ended = make(chan error, 1)
	d.running = true
	guests := host.GuestsFromManifest(res.App, res.Wasm)
	reloads, ended := d.reloads, d.ended
	listen := d.listen
	if listen != "" && len(res.App.Gateways) == 0 {
		// parigot.hcl no longer declares one (dev started with one): the
		// app runs without, and --listen waits for a gateway to come back.
		d.say("--listen %s is the address of the app's gateway, and parigot.hcl declares none now: the app runs without one", listen)
		listen = ""
	}
	if d.tracing == nil || d.tracedApp != res.App.Name {
		stopTracing(d.tracing, d.own) // the run before has stopped
		d.tracing, d.tracedApp = startTracing(nonEmpty(d.obs.otlp), d.dash != nil, res.App.Name, "", d.own), res.App.Name
	}
	seen := observing{tracing: d.tracing, logJSON: d.obs.json()}
	if d.dash != nil {
		seen.metrics = d.dash.show(res.App, d.tracing)
		seen.logs = d.dash.logs
	}
	gws, schema, err := runGateways(res.App, listen)
	if err == nil && d.dash != nil && schema == nil { // the explorer's, for an app without a gateway
		schema, err = gateway.LoadSchema(builder.DescriptorsPath(res.App))
	}
	if err != nil {
		var usage usageError
		if errors.As(err, &usage) {
			err = usage.err // a mistake of the app's, not of the command line
		}
		report(err, d.own)
		d.notRunning()
		d.running = false
		stop()
		d.say("the app is not running; save a fix to start it")
		return
	}
	var addrs []string
	for _, g := range gws {
		addrs = append(addrs, g.Listen)
	}
	d.held.Keep(addrs) // a gateway gone, or moved, refuses its clients
	d.schema, d.servesGateways = nil, len(gws) > 0
	if schema != nil {
		d.schema = genfile.Sum(builder.DescriptorsPath(res.App))
	}
	go func() {
		// The stores and topics outlive each restart of the app, as they
		// outlive each parigot run: a restart starts from what they hold.
		local, err := state.StartLocal(runCtx, res.App, state.DataDir(res.App, d.data), d.ephem, sayTo(d.own))
		if err != nil {
			ended <- err
			return
		}
		if schema != nil { // gateways, or the dashboard's explorer
			opts := gateway.SingleOptions{Guests: guests, Gateways: gws, Schema: schema, State: local.EngineOf(),
				Stdout: d.stdout, Stderr: d.stderr, Progress: d.own, Live: isTerminal(d.own), Reloads: reloads, Held: d.held, Logger: host.OwnLogger(d.stderr, d.obs.json()),
				Listening: func(name, url string) { d.say("gateway %s serves %s", name, url) }, Observe: seen.config}
			if d.dash != nil {
				opts.Explorer = d.dash.explore
			}
			_, err = gateway.RunSingle(runCtx, opts)
		} else {
			cfg := host.Config{Guests: guests, Stdout: d.stdout, Stderr: d.stderr, Progress: d.own, Live: isTerminal(d.own), Reloads: reloads, State: local.EngineOf()}
			seen.config(&cfg)
			_, err = host.Run(runCtx, cfg)
		}
		local.Close() // before the next run opens the same directory
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		ended <- err
	}()
}

// rerun stops the running app and starts the one res built. The calls
// made meanwhile, by a gateway's clients or from the dashboard's API
// explorer, wait for the new run.
func (d *devSession) rerun(ctx context.Context, res *builder.Result) {
	if d.dash != nil {
		d.dash.restarting()
	}
	d.stopRun()
	d.run(ctx, res)
}

// notRunning refuses the calls of a gateway's clients, and of the
// dashboard's explorer, those waiting among them: no run of the app is
// coming to serve them.
func (d *devSession) notRunning() {
	d.held.Close()
	if d.dash != nil {
		d.dash.down()
	}
}

// stopRun stops the current run, if any, and waits until it is over.
func (d *devSession) stopRun() {
	if !d.running {
		return
	}
	d.stop()
	<-d.ended
	d.running = false
}

// reload rebuilds and swaps the guests whose build changed into the running
// app.
func (d *devSession) reload(ctx context.Context) {
	start := time.Now()
	res, err := d.build(ctx)
	built := time.Since(start)
	if err != nil {
		if ctx.Err() == nil { // else Ctrl-C cut the build short: no failure
			d.say("the app runs on as it was; save a fix to try again")
		}
		return
	}
	if d.schema != nil {
		if now := genfile.Sum(builder.DescriptorsPath(res.App)); now == nil || *now != *d.schema {
			d.say("the protos changed: restarting the app, whose %s from them", d.servedFromProtos())
			d.rerun(ctx, res)
			return
		}
	}
	fresh := hashBuilds(res.Wasm)
	changed := map[string]string{}
	for name, sum := range fresh {
		if d.builds[name] != sum {
			changed[name] = res.Wasm[name]
		}
	}
	if len(changed) == 0 {
		// A change no guest's build sees (a test, a comment in a proto),
		// or one back to what runs: said, so that the save is seen to
		// have been taken.
		d.say("no guest's build changed (build %s): no guest to reload", built.Round(10*time.Millisecond))
		d.reviveDown(ctx)
		return
	}
	// Compiling a new build to native code takes seconds on a busy
	// machine, and the build's last line says nothing of it: said, so
	// that the wait that follows is seen to be at work.
	names := slices.Sorted(maps.Keys(changed))
	d.say("compiling %s to native code, to swap into the running app", strings.Join(names, ", "))
	if !d.swap(ctx, host.Reload{Wasm: changed}) {
		return
	}
	for _, name := range names {
		d.builds[name] = fresh[name]
	}
	took := time.Since(start)
	d.say("reloaded %s in %s (build %s, compile to native code and swap %s)", strings.Join(names, ", "),
		took.Round(10*time.Millisecond), built.Round(10*time.Millisecond), (took - built).Round(10*time.Millisecond))
}

// reviveDown has the running app start again the services that went
// down (they crashed, their restarts spent): a save that changed no
// guest's build may still have fixed what ended them (a file they read,
// say), and a user who saves expects to try again. The app says each.
func (d *devSession) reviveDown(ctx context.Context) {
	d.swap(ctx, host.Reload{DownOnly: true})
}

// swap hands the running app rl, the new builds of the guests it names
// (name -> .wasm path), and waits until they run, or did not take, which
// it says. A reload that ctx's end (Ctrl-C) cuts short is no failure,
// whatever error it ended with: parigot dev says only that it was
// interrupted.
func (d *devSession) swap(ctx context.Context, rl host.Reload) bool {
	done := make(chan error, 1)
	rl.Done = done
	select {
	case d.reloads <- rl:
	case err := <-d.ended: // the run ended meanwhile: start anew
		d.ended <- err
		return false
	}
	if err := <-done; err != nil {
		if ctx.Err() == nil {
			what := "the services that had gone down"
			if len(rl.Wasm) > 0 {
				what = strings.Join(slices.Sorted(maps.Keys(rl.Wasm)), ", ")
			}
			d.say("reloading %s: %v", what, err)
		}
		return false
	}
	return true
}

// servedFromProtos says what of the running app serves from its protos'
// descriptors.
func (d *devSession) servedFromProtos() string {
	switch {
	case !d.servesGateways:
		return "dashboard's API explorer serves"
	case d.dash != nil:
		return "gateways and dashboard's API explorer serve"
	}
	return "gateways serve"
}

// wroteItself reports whether the file at rel holds what code generation
// last wrote there, so that its change was parigot dev's own doing.
func (d *devSession) wroteItself(rel string) bool {
	want, ok := d.generated[rel]
	if !ok {
		return false
	}
	sum := genfile.Sum(filepath.Join(d.appDir, rel))
	return sum != nil && *sum == want
}

// lastBuildRead reports whether the last build read the file at rel as it
// is now, written before that build ended: a change to it is one that
// build included.
func (d *devSession) lastBuildRead(rel string) bool {
	return d.read != nil && d.read.Holds(rel, d.readBy)
}

// sawGenerated records what code generation wrote (see wroteItself).
func (d *devSession) sawGenerated(written []string) {
	if d.generated == nil {
		d.generated = map[string][32]byte{}
	}
	for _, abs := range written {
		rel, err := filepath.Rel(d.appDir, abs)
		if err != nil {
			continue
		}
		if sum := genfile.Sum(abs); sum != nil {
			d.generated[rel] = *sum
		}
	}
}

// build builds the app, showing what goes wrong.
func (d *devSession) build(ctx context.Context) (*builder.Result, error) {
	read := watch.Take(d.appDir, skipForDev)
	defer func() { d.read, d.readBy = read, time.Now() }()
	res, err := builder.Build(ctx, builder.Options{Dir: d.dir, Progress: d.own, Live: isTerminal(d.own), Generated: d.sawGenerated})
	if err == nil {
		err = builder.CheckRunEnv(res.App)
	}
	if err != nil && ctx.Err() == nil {
		report(err, d.own)
	}
	return res, err
}

// say writes one line of parigot dev's own.
func (d *devSession) say(format string, args ...any) {
	fmt.Fprintf(d.own, "parigot dev: "+format+"\n", args...)
}

// skipForDev leaves out what is not the app's source: build output, hidden
// directories (.git, .parigot), and the files no build reads.
func skipForDev(rel string, dir bool) bool {
	first, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
	if first == builder.BuildDir || strings.HasPrefix(first, ".") {
		return true
	}
	if dir {
		return strings.HasPrefix(filepath.Base(rel), ".")
	}
	base := filepath.Base(rel)
	switch filepath.Ext(base) {
	case ".go", ".proto", ".hcl", ".yaml", ".mod", ".sum":
		return false
	}
	return true
}

// hashBuilds hashes each guest's .wasm (guest name -> path); one that
// cannot be read has none.
func hashBuilds(wasm map[string]string) map[string][32]byte {
	sums := make(map[string][32]byte, len(wasm))
	for name, path := range wasm {
		if sum := genfile.Sum(path); sum != nil {
			sums[name] = *sum
		}
	}
	return sums
}
