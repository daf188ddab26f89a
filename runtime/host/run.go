package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"golang.org/x/sync/errgroup"

	"parigot.dev/parigot/internal/compcache"
	"parigot.dev/parigot/internal/fuel"
	"parigot.dev/parigot/internal/progress"
	"parigot.dev/parigot/runtime/egress"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/internal/route"
	"parigot.dev/parigot/runtime/observe"
)

// run is one Run of an app, one method per phase (see Run).
//
// The first group of fields is fixed before any guest starts and only read
// afterwards, by every guest's goroutine. The second group is owned by the
// goroutine that called Run.
type run struct {
	cfg        Config
	log        *slog.Logger
	console    *lines.Sink // guests' stdout
	errConsole *lines.Sink // guests' stderr and the host's own reports
	cache      wazero.CompilationCache
	width      int                  // of the longest guest name, for aligned prefixes
	byService  map[string]*instance // proto service name -> the guest serving it
	instances  []*instance          // in start order
	services   []*instance
	programs   []*instance
	obs        *observe.Metrics  // cfg.Metrics: nil when the run has none
	trace      *observe.Tracing  // cfg.Tracing: nil when the run has none
	http       *egress.Endpoints // the app's http endpoints (GuestSpec.HTTP); nil when it declares none
	observing  bool              // obs or trace: calls are stamped as they pass
	// awake counts the guests whose goroutines want a processor: running,
	// not parked in a poll (see spin); procs is GOMAXPROCS when the run
	// began.
	awake atomic.Int32
	procs int32
	// afterLook, when set (by tests only), runs on the watchdog's
	// goroutine between its look at a guest over its budget and the
	// stop: a seam to land the guest's own moves in that window.
	afterLook func(*instance)

	// owned by Run's goroutine
	done    chan ended         // each guest's supervisor sends on it once, when the guest is done for good
	running map[*instance]bool // started and not yet reported on done
	// servicesCtx outlives a cancelled Run ctx long enough for the services
	// to finish the calls they have (drain); stopAll ends it.
	servicesCtx  context.Context
	stopServices context.CancelFunc
	res          Result
	err          error // what Run returns, once the run is over

	// subscriptions stop the services' subscriptions to topics, by
	// service: Run's goroutine adds them, a service's supervisor stops its
	// own once the service is down for good.
	subMu         sync.Mutex
	subscriptions map[*instance][]func()
	// draining is closed once the services drain (Run's ctx is done): no
	// service starts again from then on (see run.ending).
	draining    chan struct{}
	drainedOnce sync.Once
}

func newRun(cfg Config) (*run, error) {
	r := &run{cfg: cfg, log: cfg.Logger, console: lines.NewSink(cfg.Stdout), byService: map[string]*instance{}, procs: int32(goruntime.GOMAXPROCS(0))}
	r.errConsole = lines.NewSink(cfg.Stderr)
	if cfg.Stdout == cfg.Stderr {
		r.errConsole = r.console
	}
	if cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir); err == nil {
		r.cache = cache
	} else {
		r.log.Warn("compilation cache unavailable; guests compile from scratch", "dir", cfg.CacheDir, "err", err)
	}
	r.width = cfg.PrefixWidth
	for _, g := range cfg.Guests {
		r.width = max(r.width, len(g.Name))
		in := newInstance(r, g)
		r.instances = append(r.instances, in)
		if g.Kind == Program {
			r.programs = append(r.programs, in)
			continue
		}
		r.services = append(r.services, in)
		for _, s := range g.Implements {
			r.byService[s] = in
		}
	}
	if r.obs = cfg.Metrics; r.obs != nil {
		r.watchInstances()
	}
	r.trace = cfg.Tracing
	r.observing = r.obs != nil || r.trace != nil
	endpoints, err := runEndpoints(cfg.Guests)
	if err != nil {
		return nil, err
	}
	if len(endpoints) > 0 {
		if r.http, err = egress.New(endpoints, egress.Options{Tracing: r.trace, Metrics: r.obs, Label: r.endpointLabel}); err != nil {
			return nil, err
		}
	}
	r.done = make(chan ended, len(r.instances))
	r.running = map[*instance]bool{}
	r.servicesCtx, r.stopServices = context.WithCancel(context.Background())
	r.draining = make(chan struct{})
	return r, nil
}

// close releases what the run holds: every guest's runtime and the cache.
func (r *run) close() {
	r.stopServices()
	r.http.Close()
	for _, in := range r.instances {
		if in.rt != nil {
			in.rt.Close(context.Background())
		}
	}
	if r.cache != nil {
		r.cache.Close(context.Background())
	}
}

// runEndpoints is the one list of the app's http endpoints that the run
// makes clients for: every guest's spec lists them all (GuestSpec.HTTP),
// and a guest's spec that lists one otherwise than another's does (a
// different URL or timeout) is an error, rather than a run whose guests
// reach an endpoint through whichever spec came first.
func runEndpoints(guests []*GuestSpec) ([]egress.Spec, error) {
	var list []egress.Spec
	from := map[string]*GuestSpec{} // the guest whose spec listed each first
	for _, g := range guests {
		for _, s := range g.HTTP {
			first, seen := from[s.Name]
			if !seen {
				from[s.Name] = g
				list = append(list, s)
				continue
			}
			if i := slices.IndexFunc(list, func(l egress.Spec) bool { return l.Name == s.Name }); list[i] != s {
				return nil, fmt.Errorf("the specs of %s and %s list http %s otherwise (%+v, %+v): every guest's lists the app's endpoints alike (GuestsFromManifest)", first.Name, g.Name, s.Name, list[i], s)
			}
		}
	}
	return list, nil
}

// endpointLabel is the guest label of ep in the run's metrics: its name,
// with its replica in split mode, as a guest's own metrics have it.
func (r *run) endpointLabel(ep route.Endpoint) string {
	return ReplicaLabel(ep.GuestName(), r.cfg.Replica)
}

// lookup finds the endpoint serving the proto service name: a local guest
// first, else a remote one.
func (r *run) lookup(name string) route.Endpoint {
	if in := r.byService[name]; in != nil {
		return in
	}
	if r.cfg.Remote != nil {
		if ep := r.cfg.Remote.Service(name); ep != nil {
			return ep
		}
	}
	return nil
}

// load gives every guest its own wazero runtime (so that memory limits are
// per guest) and compiles it, in parallel; the on-disk compilation cache is
// shared. Every guest is made interruptible first (see interruptible).
func (r *run) load(ctx context.Context) error {
	p := progress.New(r.cfg.Progress, r.cfg.Live)
	stop := p.Watch()
	defer p.Clear()
	defer stop()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(goruntime.NumCPU())
	// The cores are shared among the guests compiling at once; one guest
	// alone (a split-mode child) compiles its functions on every core.
	gctx = experimental.WithCompilationWorkers(gctx, max(1, goruntime.NumCPU()/max(1, len(r.instances))))
	for _, in := range r.instances {
		g.Go(func() error {
			start := time.Now()
			p.Begin(in.spec.Name)
			err := r.compile(gctx, in, p.Note)
			p.End(in.spec.Name)
			if err != nil {
				return startError(in.spec, NotLoaded, err)
			}
			if time.Since(start) >= slowCompile && gctx.Err() == nil { // not after Ctrl-C
				p.Step(start, "compiled %s %s to native code", in.spec.Kind, in.spec.Name)
			}
			return nil
		})
	}
	return g.Wait()
}

// slowCompile is how long compiling a guest must take for a line to say
// so: from the compilation cache it takes a fraction of it.
const slowCompile = 500 * time.Millisecond

func (r *run) compile(ctx context.Context, in *instance, note func(string, ...any)) (err error) {
	if in.debugging() {
		return nil // it runs natively, under Delve
	}
	in.rt, in.compiled, err = r.compileGuest(ctx, in.spec, in.spec.Wasm, note)
	return err
}

// compileGuest reads the guest module at path, makes it interruptible and
// compiles it in a new wazero runtime of its own, with spec's memory limit,
// WASI and parigot's host functions; a long wait for another process's
// compilation of it is told to note. On error nothing is left open.
func (r *run) compileGuest(ctx context.Context, spec *GuestSpec, path string, note func(string, ...any)) (wazero.Runtime, wazero.CompiledModule, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (run parigot build first)", err)
	}
	// The cheap interruption checks (see interruptible), or wazero's own
	// for a module they cannot be added to.
	counted := false
	if r.cfg.checks == checksFuel {
		if wasm, counted, err = interruptible(wasm); err != nil {
			return nil, nil, fmt.Errorf("%s is not a valid wasm module: %w (rebuild it with parigot build)", path, err)
		}
		if !counted {
			r.log.Warn("guest runs with wazero's slower interruption checks: its wasm could not be instrumented", "guest", spec.Name)
		}
	}
	pages := min((memoryLimit(spec)+65535)/65536, 65536)
	rtc := wazero.NewRuntimeConfigCompiler().
		WithCloseOnContextDone(!counted && r.cfg.checks != checksNone).
		WithMemoryLimitPages(uint32(pages))
	if r.cache != nil {
		rtc = rtc.WithCompilationCache(r.cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rtc)
	fail := func(err error) (wazero.Runtime, wazero.CompiledModule, error) {
		rt.Close(context.Background())
		return nil, nil, err
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return fail(fmt.Errorf("starting WASI: %w", err))
	}
	if err := exportHostModule(ctx, rt, r.log); err != nil {
		return fail(fmt.Errorf("defining host functions: %w", err))
	}
	done := func(compiled bool) {}
	if r.cache != nil {
		// Another process compiling the same module (a replica, a test
		// binary) writes it into the cache: it loads from there once that
		// is done.
		done, _ = compcache.Compiling(ctx, r.cfg.CacheDir, wasm, compcache.Wait{Patience: compileWait, Slow: compileWaitSaid, Said: func(pid int) {
			note("%s %s waits for process %d, which is compiling the same guest, to finish (at most %s, then it compiles the guest itself)", spec.Kind, spec.Name, pid, compileWait)
		}})
	}
	compiled, err := compileModule(ctx, rt, wasm)
	done(err == nil)
	if err != nil {
		return fail(fmt.Errorf("compiling %s: %w", path, err))
	}
	if err := checkHostImports(rt, compiled); err != nil {
		compiled.Close(context.Background())
		return fail(err)
	}
	return rt, compiled, nil
}

// compileWait bounds how long a guest's compilation waits for another
// process's of the same module, before it compiles the module itself; a
// wait longer than compileWaitSaid is said (the other process may be
// stopped, by Ctrl-Z say), one shorter is a sibling replica's compile.
const (
	compileWait     = 2 * time.Minute
	compileWaitSaid = 10 * time.Second
)

// compileModule is rt.CompileModule, with a panic of the engine on a
// malformed module turned into an error: a bad guest file must not take
// the host down.
func compileModule(ctx context.Context, rt wazero.Runtime, wasm []byte) (m wazero.CompiledModule, err error) {
	defer func() {
		if p := recover(); p != nil {
			m, err = nil, fmt.Errorf("the wasm engine failed on it: %v", p)
		}
	}()
	return rt.CompileModule(ctx, wasm)
}

// start starts in's supervisor, which runs the guest (and restarts it when
// its policy says so) until it is done for good.
func (r *run) start(parent context.Context, in *instance) {
	ctx, cancel := context.WithCancel(parent)
	in.stop = cancel
	r.running[in] = true
	go r.supervise(ctx, in)
}

// report takes in the end of a guest: its failures become the run's.
func (r *run) report(e ended) {
	delete(r.running, e.in)
	r.res.AddFailures(e.failed, e.failures...)
}

// sayDown says, when it happens, that a service has gone down for good
// while the run goes on (ctx is not done), and marks its failure said: the
// programs, the gateways and the other services carry on, and whoever
// watches the app learns of it now, not at its end.
func (r *run) sayDown(ctx context.Context, e ended) {
	if e.in.spec.Kind != Service || len(e.failures) == 0 || ctx.Err() != nil || e.in.stopping.Load() {
		return
	}
	f := &r.res.Failures[len(r.res.Failures)-1] // report appended e's
	f.Said = true
	r.say("%s", DownLine(*f))
	e.in.sayEndedNotes()
}

// fail keeps err as the run's error unless it already has one.
func (r *run) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// startServices starts the services one at a time in requires order, each
// ready before the next starts. It returns a *StartError for a service that
// cannot serve, ends before it is ready or is not ready in time, and ctx's
// error when ctx ends first.
func (r *run) startServices(ctx context.Context) error {
	for _, in := range r.services {
		if r.cfg.Remote != nil {
			if err := r.cfg.Remote.Serve(in.spec.Name, in.spec.Implements, in); err != nil {
				return startError(in.spec, NotServed, err)
			}
		}
		r.start(r.servicesCtx, in)
		if err := r.awaitReady(ctx, in); err != nil {
			return err
		}
		if r.cfg.Remote != nil {
			if err := r.cfg.Remote.Ready(in.spec.Name); err != nil {
				return startError(in.spec, NotServed, err)
			}
		}
		if err := r.subscribe(ctx, in); err != nil {
			return startError(in.spec, NotServed, err)
		}
		if r.cfg.Ready != nil {
			r.cfg.Ready(in.spec.Name)
		}
	}
	return nil
}

// subscribe starts the deliveries of the topics the ready service in
// subscribes to: from then on each message is a call to it.
func (r *run) subscribe(ctx context.Context, in *instance) error {
	if len(in.spec.Subscriptions) == 0 {
		return nil
	}
	if r.cfg.State == nil {
		return fmt.Errorf("it subscribes to topic %s, but the run has no state engine", in.spec.Subscriptions[0].Topic)
	}
	for _, sub := range in.spec.Subscriptions {
		stop, err := r.cfg.State.Subscribe(ctx, in.spec.Name, sub, in)
		if err != nil {
			return err
		}
		r.subMu.Lock()
		if r.subscriptions == nil {
			r.subscriptions = map[*instance][]func(){}
		}
		r.subscriptions[in] = append(r.subscriptions[in], stop)
		r.subMu.Unlock()
	}
	return nil
}

// stopSubscriptions stops taking messages for the services: those they
// have not answered go to another process, or to the next run.
func (r *run) stopSubscriptions() {
	r.subMu.Lock()
	subs := r.subscriptions
	r.subscriptions = nil
	r.subMu.Unlock()
	for _, stops := range subs {
		for _, stop := range stops {
			stop()
		}
	}
}

// stopSubscriptionsOf stops taking messages for service in, which is down
// for good: its messages wait for another process serving it, or for the
// next run, rather than be handed to a service that is not there (each
// such delivery would count as one of the message's attempts in the next
// run, and dead-letter it sooner).
func (r *run) stopSubscriptionsOf(in *instance) {
	r.subMu.Lock()
	stops := r.subscriptions[in]
	delete(r.subscriptions, in)
	r.subMu.Unlock()
	for _, stop := range stops {
		stop()
	}
}

// awaitReady waits until the service in is ready.
func (r *run) awaitReady(ctx context.Context, in *instance) error {
	timer := time.NewTimer(r.cfg.ReadyTimeout)
	defer timer.Stop()
	if in.debugging() {
		timer.Stop() // it starts when the debugger lets it
	}
	select {
	case <-in.readyCh:
		return nil
	case e := <-r.done:
		r.report(e)
		se := &StartError{Guest: e.in.spec.Name, Replica: r.cfg.Replica, Kind: e.in.spec.Kind, Problem: EndedBeforeReady, Implements: e.in.spec.Implements}
		if n := len(e.failures); n > 0 {
			se.Failure = &e.failures[n-1]
		}
		return se
	case <-timer.C:
		return &StartError{Guest: in.spec.Name, Replica: r.cfg.Replica, Kind: in.spec.Kind, Problem: NotReadyInTime, Timeout: r.cfg.ReadyTimeout,
			Implements: in.spec.Implements, InReady: in.hasExported.Load()}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// serve is the run of a host without programs (the services a gateway
// serves from, a split-mode child hosting a service): it lasts until every
// service has ended for good, or until ctx ends, when the services first
// finish the calls they have. A service that ends for good is down, and
// calls to it fail unavailable, while the others go on serving; the run's
// exit code is the first such service's.
func (r *run) serve(ctx context.Context) {
	for left := len(r.services); left > 0; left-- {
		select {
		case e := <-r.done:
			r.report(e)
			r.sayDown(ctx, e)
			if r.res.ExitCode == 0 {
				r.res.ExitCode = e.end.code
			}
		case <-ctx.Done():
			r.reportLateOverruns()
			r.drainCalls()
			return
		}
	}
}

// runPrograms starts the programs, all at once, and waits until the last
// one has ended; their first non-zero exit code is the run's. When ctx ends
// first, the services finish the calls they have and the run's error is
// ctx's.
func (r *run) runPrograms(ctx context.Context) {
	r.startPrograms(ctx)
	for left := len(r.programs); left > 0; {
		select {
		case e := <-r.done:
			r.report(e)
			r.sayDown(ctx, e)
			if e.in.spec.Kind == Program {
				left--
				if r.res.ExitCode == 0 {
					r.res.ExitCode = e.end.code
				}
			}
		case <-ctx.Done():
			r.reportLateOverruns()
			r.drainCalls()
			r.fail(ctx.Err())
			return
		}
	}
}

// drainCalls lets the services finish the calls they have before they stop:
// it stops new calls from other processes, then waits, up to DrainTimeout,
// until no service has a call waiting or in progress. A service running
// past its method budget is not waited for: its callers have had their
// answer (deadline exceeded), and it answers no other call until it
// stops, which ends its calls with unavailable.
func (r *run) drainCalls() {
	r.drainedOnce.Do(func() { close(r.draining) })
	r.stopSubscriptions()
	if s, ok := r.cfg.Remote.(route.StopServer); ok {
		s.StopServing()
	}
	deadline := time.Now().Add(r.cfg.DrainTimeout)
	for time.Now().Before(deadline) {
		busy := false
		now := unixNano()
		for _, in := range r.services {
			if _, _, over := in.overLimit(now, in.spec.MethodTimeout); !in.idle() && !over {
				busy = true
				break
			}
		}
		if !busy {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	r.say("parigot: the drain time ran out (%s) with calls still in flight; they fail with unavailable", r.cfg.DrainTimeout)
}

// reportLateOverruns reports the services still inside a method past its
// budget when the run is about to end (before any drain), which the
// watchdog had not acted on yet (its grace had not run out): the run must
// not end without saying so. A split-mode child hears of the end as a stop,
// so both modes report it at the same moment, the same way.
func (r *run) reportLateOverruns() {
	now := time.Now()
	for _, in := range r.services {
		ov := in.overrunAt(now, in.spec.MethodTimeout)
		if ov == nil {
			continue
		}
		ov.late = true
		if in.spec.Overrun == OverrunReport {
			r.say("parigot: service %s: %s", r.label(in), ov)
			continue
		}
		r.res.AddFailures(1, Failure{Guest: in.spec.Name, Replica: r.cfg.Replica, Kind: Service, Cause: CauseOverran, Detail: ov.String()})
	}
}

// stopAll asks every running guest to stop and waits, up to StopTimeout, for
// them to end.
func (r *run) stopAll() {
	r.stopSubscriptions()
	r.stopGuests(maps.Clone(r.running), r.report)
}

// stopGuests asks those of which that still run to stop and waits, up to
// StopTimeout, until they have ended; take takes in every end that comes
// meanwhile, theirs or another guest's.
func (r *run) stopGuests(which map[*instance]bool, take func(ended)) {
	stillRunning := func() bool {
		for in := range which {
			if r.running[in] {
				return true
			}
		}
		return false
	}
	for in := range which {
		if r.running[in] {
			in.stopping.Store(true)
			in.stop()
		}
	}
	timer := time.NewTimer(r.cfg.StopTimeout)
	defer timer.Stop()
	for stillRunning() {
		select {
		case e := <-r.done:
			take(e)
		case <-timer.C:
			for in := range which {
				if r.running[in] {
					r.log.Warn("guest did not stop in time; abandoning it", "guest", in.spec.Name, "waited", r.cfg.StopTimeout)
				}
			}
			return
		}
	}
}

// label names in in the host's own lines: with "#N" when it is one of
// several replicas of its service (split mode), as failures name it.
func (r *run) label(in *instance) string { return ReplicaLabel(in.spec.Name, r.cfg.Replica) }

// say writes one line of the host's own to the error console.
func (r *run) say(format string, args ...any) {
	line := fmt.Appendf(nil, format+"\n", args...)
	if r.cfg.LogJSON {
		line = lines.JSONLine("parigot", "stderr", line)
	}
	if r.cfg.markSaid() {
		line = lines.MarkSaid(line)
	}
	r.errConsole.WriteLine(line)
}

// interruptible returns wasm with a fuel count at every loop header that
// calls the host's parigot.yield every fuel.Budget iterations (see
// internal/fuel and hostYield), and true; or wasm unchanged and false when
// it cannot be instrumented, and the guest must then be compiled with
// wazero's close-on-context-done instead. A module parigot build made is
// instrumented already, which costs a scan of its section headers.
//
// Either way every guest is interruptible. Without interruption points, a
// guest that loops without calling the host can never be preempted: the Go
// garbage collector's stop-the-world then waits for it forever, freezing
// every other guest and the host itself, signals included. The checks are
// also how an overrunning method is stopped. What they cost is in
// docs/BENCHMARKS.md: a few percent with fuel, several times that with
// close-on-context-done, whose check is a call into Go at every loop header.
//
// A module the rewriter finds malformed (not merely using something it does
// not handle) is an error: no engine should be handed it.
func interruptible(wasm []byte) ([]byte, bool, error) {
	counted, err := fuel.Instrument(wasm)
	var fe *fuel.Error
	switch {
	case err == nil:
		return counted, true, nil
	case errors.As(err, &fe) && fe.Unsupported:
		return wasm, false, nil
	}
	return nil, false, err
}
