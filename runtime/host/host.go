package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
	"golang.org/x/sync/errgroup"

	"parigot.dev/parigot/internal/compcache"
	"parigot.dev/parigot/runtime/internal/lines"
)

// Kind says whether a guest serves calls forever or runs to completion.
type Kind int

const (
	Service Kind = iota + 1
	Program
)

func (k Kind) String() string {
	if k == Program {
		return "program"
	}
	return "service"
}

// OverrunPolicy says what happens to a service whose method runs past its
// budget plus the grace (see Grace).
type OverrunPolicy int

const (
	// OverrunStop stops the guest. In one process this compiles the guest
	// with wazero's close-on-context-done, which slows its code; a split-mode
	// child exits instead, which costs nothing.
	OverrunStop OverrunPolicy = iota
	// OverrunReport only reports the overrun; callers still get their
	// deadline-exceeded errors.
	OverrunReport
)

// RestartPolicy says whether a service that crashed or was stopped for an
// overrun comes back.
type RestartPolicy int

const (
	RestartNever     RestartPolicy = iota // leave it down: its callers get "unavailable"
	RestartOnFailure                      // start it again, up to MaxRestarts times
)

// MaxRestarts bounds the restarts of one service in one run.
const MaxRestarts = 3

// DefaultMemoryLimit is a guest's memory limit when its spec gives none.
const DefaultMemoryLimit = 256 << 20

// Grace is how long past its budget a method may run before the host acts:
// the budget again, but at least 20ms.
func Grace(budget time.Duration) time.Duration { return max(budget, 20*time.Millisecond) }

// GuestSpec describes one guest of the app.
type GuestSpec struct {
	Name          string
	Kind          Kind
	Wasm          string        // path of the compiled guest
	Implements    []string      // full proto names of the services it serves
	Requires      []string      // names of the services it calls
	MethodTimeout time.Duration // budget of each of its methods: callers' deadline
	Replicas      int           // split mode: processes serving it (services only)
	Env           []string      // KEY=VALUE pairs the guest sees as its environment
	MemoryLimit   uint64        // bytes of linear memory the guest may use; 0: DefaultMemoryLimit
	Overrun       OverrunPolicy
	Restart       RestartPolicy
}

// Config is what Run needs to run an app.
type Config struct {
	Guests []*GuestSpec // in start order: every service after those it requires
	Stdout io.Writer    // guests' stdout, each line prefixed with the guest's name
	Stderr io.Writer    // guests' stderr, likewise; also the host's own reports
	// CacheDir holds wazero's compilation cache. Empty: DefaultCacheDir().
	CacheDir string
	// ReadyTimeout bounds how long a service may take to become ready.
	// Zero: 30 seconds.
	ReadyTimeout time.Duration
	// StopTimeout bounds how long services get to stop once the programs have
	// ended. Zero: 2 seconds.
	StopTimeout time.Duration
	// DrainTimeout bounds how long, once ctx is cancelled (Ctrl-C, SIGTERM),
	// services get to finish the calls they have before they are stopped.
	// Zero: 2 seconds.
	DrainTimeout time.Duration
	Logger       *slog.Logger
	// Remote connects these guests to guests in other processes (split
	// mode). Nil: every service is one of Guests.
	Remote Remote
	// Plain leaves guest output lines unprefixed (a split-mode child's parent
	// adds the prefix).
	Plain bool
	// ExitOnOverrun, when set, is how a guest with OverrunStop is stopped:
	// a split-mode child ends its whole process, so that its guests need not
	// be compiled interruptible. It is called after the overrun is reported.
	ExitOnOverrun func()
}

// Remote connects the guests of one process to those of others.
type Remote interface {
	// Service returns an endpoint for the proto service name when a guest of
	// another process serves it, or nil.
	Service(name string) Endpoint
	// Serve is called for each local service before it starts: from then
	// on, calls for its services from elsewhere go to local.
	Serve(spec *GuestSpec, local Endpoint) error
	// Ready is called once a local service is ready.
	Ready(spec *GuestSpec)
}

// Result is how a run ended.
type Result struct {
	ExitCode int      // the programs' exit code: the first non-zero one, else 0
	Failures []string // guests that crashed or overran, one human-readable line each
}

// DefaultCacheDir is where compiled guests are cached between runs:
// $PARIGOT_CACHE_DIR/wazero, else the user cache directory's parigot/wazero.
// At most once an hour it first prunes the cache by its size and age limits
// (package compcache: PARIGOT_CACHE_MAX_SIZE, PARIGOT_CACHE_MAX_AGE).
func DefaultCacheDir() string {
	return compcache.Prepare()
}

// lookup finds the endpoint serving the proto service name: a local guest
// first, else a remote one.
func (a *app) lookup(name string) Endpoint {
	if in := a.byService[name]; in != nil {
		return in
	}
	if a.cfg.Remote != nil {
		if ep := a.cfg.Remote.Service(name); ep != nil {
			return ep
		}
	}
	return nil
}

type app struct {
	cfg        Config
	log        *slog.Logger
	console    *lines.Sink // guests' stdout
	errConsole *lines.Sink // guests' stderr and the host's own reports
	cache      wazero.CompilationCache
	width      int                  // of the longest guest name, for aligned prefixes
	byService  map[string]*instance // proto service name -> the guest serving it; fixed before any guest starts
	instances  []*instance
}

// Run loads every guest, starts services in requires order, then programs,
// waits for the programs to end, stops the services, and reports how it went.
// Cancelling ctx stops everything. The error is for failures of the host
// itself or of start-up (a guest that cannot load or never becomes ready);
// crashes while running are reported in Result.Failures.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(cfg.Stderr, nil))
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 30 * time.Second
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 2 * time.Second
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 2 * time.Second
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = DefaultCacheDir()
	}
	a := &app{cfg: cfg, log: cfg.Logger, console: lines.NewSink(cfg.Stdout), byService: map[string]*instance{}}
	a.errConsole = lines.NewSink(cfg.Stderr)
	if cfg.Stdout == cfg.Stderr {
		a.errConsole = a.console
	}
	if cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir); err == nil {
		a.cache = cache
		defer cache.Close(context.Background())
	} else {
		a.log.Warn("compilation cache unavailable; guests compile from scratch", "dir", cfg.CacheDir, "err", err)
	}

	for _, g := range cfg.Guests {
		a.width = max(a.width, len(g.Name))
		in := newInstance(a, g)
		a.instances = append(a.instances, in)
		for _, s := range g.Implements {
			a.byService[s] = in
		}
	}
	defer func() {
		for _, in := range a.instances {
			if in.rt != nil {
				in.rt.Close(context.Background())
			}
		}
	}()
	if err := a.loadAll(ctx); err != nil {
		return Result{}, err
	}

	done := make(chan ended, len(a.instances))
	running := map[*instance]bool{}
	// Services outlive a cancelled ctx long enough to finish the calls they
	// have (see drainCalls); stopAll ends them.
	servicesCtx, stopServices := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServices()
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	go a.watch(watchCtx)

	var res Result
	report := func(e ended) (code int, crashed bool) {
		delete(running, e.in)
		res.Failures = append(res.Failures, e.failures...)
		return e.code, e.crashed
	}

	// Services, one at a time in requires order, each ready before the next.
	var programs []*instance
	for _, in := range a.instances {
		if in.spec.Kind == Program {
			programs = append(programs, in)
			continue
		}
		gctx, cancel := context.WithCancel(servicesCtx)
		in.stop = cancel
		if cfg.Remote != nil {
			if err := cfg.Remote.Serve(in.spec, in); err != nil {
				a.stopAll(running, done, report)
				return res, fmt.Errorf("service %s: %w", in.spec.Name, err)
			}
		}
		running[in] = true
		go a.supervise(gctx, in, done)
		timer := time.NewTimer(cfg.ReadyTimeout)
		select {
		case <-in.readyCh:
			timer.Stop()
			if cfg.Remote != nil {
				cfg.Remote.Ready(in.spec)
			}
		case e := <-done:
			timer.Stop()
			report(e)
			a.stopAll(running, done, report)
			return res, fmt.Errorf("service %s ended before it was ready: %s", e.in.spec.Name, e.text)
		case <-timer.C:
			a.stopAll(running, done, report)
			return res, fmt.Errorf("service %s did not become ready within %s (does its main call guest.Run?)", in.spec.Name, cfg.ReadyTimeout)
		case <-ctx.Done():
			timer.Stop()
			a.stopAll(running, done, report)
			return res, ctx.Err()
		}
	}

	// With no program here (a split-mode child hosting a service), serve
	// until stopped or until a service ends.
	if len(programs) == 0 {
		select {
		case e := <-done:
			code, crashed := report(e)
			if crashed && code == 0 {
				code = 1
			}
			res.ExitCode = code
		case <-ctx.Done():
			a.drainCalls()
		}
		a.stopAll(running, done, report)
		return res, nil
	}

	// Programs, all at once; the run ends when the last one ends.
	left := len(programs)
	for _, in := range programs {
		gctx, cancel := context.WithCancel(ctx)
		in.stop = cancel
		running[in] = true
		go a.supervise(gctx, in, done)
	}
	for left > 0 {
		select {
		case e := <-done:
			code, _ := report(e)
			if e.in.spec.Kind == Program {
				left--
				if res.ExitCode == 0 {
					res.ExitCode = code
				}
			}
		case <-ctx.Done():
			a.drainCalls()
			a.stopAll(running, done, report)
			return res, ctx.Err()
		}
	}
	a.stopAll(running, done, report)
	return res, nil
}

// StopServer is implemented by a Remote that can stop taking calls from
// other processes for the local services, letting what is in flight finish.
type StopServer interface {
	StopServing()
}

// drainCalls lets the services finish the calls they have before they stop:
// it stops new calls from other processes, then waits, up to DrainTimeout,
// until no service has a call queued or in progress.
func (a *app) drainCalls() {
	if s, ok := a.cfg.Remote.(StopServer); ok {
		s.StopServing()
	}
	deadline := time.Now().Add(a.cfg.DrainTimeout)
	for time.Now().Before(deadline) {
		busy := false
		for _, in := range a.instances {
			if in.spec.Kind == Service && !in.idle() {
				busy = true
				break
			}
		}
		if !busy {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	a.log.Warn("services still had calls in flight when the drain time ran out; those calls fail with unavailable", "waited", a.cfg.DrainTimeout)
}

// ended is a guest's supervisor reporting that it is done for good (after
// any restarts).
type ended struct {
	in       *instance
	code     int      // exit code
	crashed  bool     // it ended by crashing, trapping or overrunning
	text     string   // how it ended, for humans
	failures []string // every crash on the way, restarts included
}

// stopAll asks every running guest to stop and waits, up to StopTimeout, for
// them to end.
func (a *app) stopAll(running map[*instance]bool, done chan ended, report func(ended) (int, bool)) {
	for in := range running {
		if in.stop != nil {
			in.stop()
		}
	}
	timer := time.NewTimer(a.cfg.StopTimeout)
	defer timer.Stop()
	for len(running) > 0 {
		select {
		case e := <-done:
			report(e)
		case <-timer.C:
			for in := range running {
				a.log.Warn("guest did not stop in time; abandoning it", "guest", in.spec.Name, "waited", a.cfg.StopTimeout)
			}
			return
		}
	}
}

func (in *instance) memoryLimit() uint64 {
	if in.spec.MemoryLimit == 0 {
		return DefaultMemoryLimit
	}
	return in.spec.MemoryLimit
}

// loadAll gives every guest its own wazero runtime (so that memory limits
// and interruptibility are per guest) and compiles it, in parallel; the
// on-disk compilation cache is shared.
func (a *app) loadAll(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(goruntime.NumCPU())
	for _, in := range a.instances {
		g.Go(func() error { return a.load(gctx, in) })
	}
	return g.Wait()
}

func (a *app) load(ctx context.Context, in *instance) error {
	pages := min((in.memoryLimit()+65535)/65536, 65536)
	in.interruptible = in.spec.Kind == Service && in.spec.Overrun == OverrunStop && a.cfg.ExitOnOverrun == nil
	rtc := wazero.NewRuntimeConfigCompiler().
		WithCloseOnContextDone(in.interruptible).
		WithMemoryLimitPages(uint32(pages))
	if a.cache != nil {
		rtc = rtc.WithCompilationCache(a.cache)
	}
	in.rt = wazero.NewRuntimeWithConfig(ctx, rtc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, in.rt); err != nil {
		return fmt.Errorf("%s %s: starting WASI: %w", in.spec.Kind, in.spec.Name, err)
	}
	if err := exportHostModule(ctx, in.rt, a.log); err != nil {
		return fmt.Errorf("%s %s: defining host functions: %w", in.spec.Kind, in.spec.Name, err)
	}
	wasm, err := os.ReadFile(in.spec.Wasm)
	if err != nil {
		return fmt.Errorf("%s %s: %w (run parigot build first)", in.spec.Kind, in.spec.Name, err)
	}
	in.compiled, err = in.rt.CompileModule(ctx, wasm)
	if err != nil {
		return fmt.Errorf("%s %s: compiling %s: %w", in.spec.Kind, in.spec.Name, in.spec.Wasm, err)
	}
	return nil
}

// describeEnd says how a guest ended: its exit code, whether that counts as a
// crash, and a phrase for humans.
func describeEnd(spec *GuestSpec, err error, panicked bool) (code int, crashed bool, msg string) {
	msg = endText(spec, err, panicked)
	var exit *sys.ExitError
	switch {
	case err == nil:
		return 0, false, msg
	case errors.As(err, &exit) && (exit.ExitCode() == sys.ExitCodeContextCanceled || exit.ExitCode() == sys.ExitCodeDeadlineExceeded):
		return 0, false, msg // stopped by the host (an interruptible guest)
	case errors.As(err, &exit):
		code = int(exit.ExitCode())
		if panicked {
			// Go exits 2 after a panic; report a crash as 1, parigot's
			// "could not do what was asked", not as a usage error.
			return 1, true, msg
		}
		return code, spec.Kind == Service && code != 0, msg
	case errors.Is(err, context.Canceled):
		return 0, false, msg
	}
	return 1, true, msg
}

func endText(spec *GuestSpec, err error, panicked bool) string {
	var exit *sys.ExitError
	switch {
	case err == nil:
		return "exited"
	case panicked:
		return "panicked (its stack trace is above)"
	case errors.As(err, &exit) && (exit.ExitCode() == sys.ExitCodeContextCanceled || exit.ExitCode() == sys.ExitCodeDeadlineExceeded):
		return "was stopped"
	case errors.As(err, &exit):
		return fmt.Sprintf("exited with code %d", exit.ExitCode())
	case errors.Is(err, context.Canceled):
		return "was stopped"
	}
	msg := firstLine(err.Error())
	if m := wazeroFailure.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("trapped in function %s: %s", m[1], m[2])
	}
	return "trapped: " + msg
}

// wazeroFailure is how wazero words a failed call into a module.
var wazeroFailure = regexp.MustCompile(`^module\[[^\]]*\] function\[([^\]]*)\] failed: (.*)$`)

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
