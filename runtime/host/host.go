package host

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
	"golang.org/x/sync/errgroup"
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
	Logger      *slog.Logger
	// Remote connects these guests to guests in other processes (split
	// mode). Nil: every service is one of Guests.
	Remote Remote
	// Interruptible compiles guests so that cancelling a guest's context
	// stops it even in the middle of a loop (wazero's close-on-context-done),
	// at a cost to every call: see the benchmarks.
	Interruptible bool
	// Plain leaves guest output lines unprefixed (a split-mode child's parent
	// adds the prefix).
	Plain bool
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
	Failures []string // guests that crashed, one human-readable line each
}

// DefaultCacheDir is where compiled guests are cached between runs:
// $PARIGOT_CACHE_DIR, else the user cache directory's parigot/wazero.
func DefaultCacheDir() string {
	if d := os.Getenv("PARIGOT_CACHE_DIR"); d != "" {
		return filepath.Join(d, "wazero")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "parigot", "wazero")
	}
	return filepath.Join(os.TempDir(), "parigot-cache", "wazero")
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
	cfg       Config
	rt        wazero.Runtime
	log       *slog.Logger
	console   *console
	byService map[string]*instance // proto service name -> the guest serving it; fixed before any guest starts
	instances []*instance
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
	if cfg.CacheDir == "" {
		cfg.CacheDir = DefaultCacheDir()
	}
	a := &app{cfg: cfg, log: cfg.Logger, console: &console{out: cfg.Stdout}, byService: map[string]*instance{}}
	errConsole := &console{out: cfg.Stderr}
	if cfg.Stdout == cfg.Stderr {
		errConsole = a.console
	}

	rtc := wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(cfg.Interruptible)
	if cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir); err == nil {
		rtc = rtc.WithCompilationCache(cache)
	} else {
		a.log.Warn("compilation cache unavailable; guests compile from scratch", "dir", cfg.CacheDir, "err", err)
	}
	a.rt = wazero.NewRuntimeWithConfig(ctx, rtc)
	defer a.rt.Close(context.Background())
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, a.rt); err != nil {
		return Result{}, fmt.Errorf("starting WASI: %w", err)
	}
	if err := exportHostModule(ctx, a.rt, a.log); err != nil {
		return Result{}, fmt.Errorf("defining host functions: %w", err)
	}

	width := 0
	for _, g := range cfg.Guests {
		width = max(width, len(g.Name))
	}
	for _, g := range cfg.Guests {
		in := newInstance(a, g)
		a.instances = append(a.instances, in)
		for _, s := range g.Implements {
			a.byService[s] = in
		}
	}

	compiled, err := a.compileAll(ctx)
	if err != nil {
		return Result{}, err
	}

	done := make(chan ended, len(a.instances))
	running := map[*instance]bool{}
	servicesCtx, stopServices := context.WithCancel(ctx)
	defer stopServices()

	start := func(in *instance, gctx context.Context) {
		prefix := fmt.Sprintf("%-*s | ", width, in.spec.Name)
		if cfg.Plain {
			prefix = ""
		}
		stdout := newLineWriter(a.console, prefix)
		stderr := newLineWriter(errConsole, prefix)
		mc := wazero.NewModuleConfig().
			WithName(in.spec.Name).
			WithArgs(in.spec.Name).
			WithStdout(stdout).
			WithStderr(stderr).
			WithSysNanotime().WithSysWalltime().WithSysNanosleep().
			WithRandSource(rand.Reader)
		for _, kv := range in.spec.Env {
			if k, v, ok := strings.Cut(kv, "="); ok {
				mc = mc.WithEnv(k, v)
			}
		}
		running[in] = true
		go func() {
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("host failure while running guest: %v", r)
					}
				}()
				var mod interface{ Close(context.Context) error }
				mod, err = a.rt.InstantiateModule(withInstance(gctx, in), compiled[in], mc)
				if mod != nil {
					mod.Close(context.Background())
				}
			}()
			stdout.flush()
			stderr.flush()
			stderr.panicked.Store(stderr.panicked.Load() || stdout.panicked.Load())
			done <- ended{in: in, err: err, out: stderr}
		}()
	}

	var res Result
	report := func(e ended) (code int, crashed bool) {
		code, crashed, msg := describeEnd(e.in.spec, e.err, e.out.panicked.Load())
		reason := fmt.Sprintf("%s %s %s", e.in.spec.Kind, e.in.spec.Name, msg)
		if crashed && e.err != nil && !e.out.panicked.Load() {
			if _, isExit := e.err.(*sys.ExitError); !isExit {
				fmt.Fprintf(e.out, "%s\n", e.err) // a trap: show wazero's wasm stack trace
				e.out.flush()
			}
		}
		e.in.close(reason)
		delete(running, e.in)
		if crashed {
			res.Failures = append(res.Failures, reason)
		}
		return code, crashed
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
		start(in, gctx)
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
			return res, fmt.Errorf("service %s ended before it was ready: %s", e.in.spec.Name, endText(e.in.spec, e.err, e.out.panicked.Load()))
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
		}
		a.stopAll(running, done, report)
		return res, nil
	}

	// Programs, all at once; the run ends when the last one ends.
	left := len(programs)
	for _, in := range programs {
		gctx, cancel := context.WithCancel(ctx)
		in.stop = cancel
		start(in, gctx)
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
			a.stopAll(running, done, report)
			return res, ctx.Err()
		}
	}
	a.stopAll(running, done, report)
	return res, nil
}

// ended is a guest's goroutine reporting that its wasm returned.
type ended struct {
	in  *instance
	err error
	out *lineWriter // its stderr
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

func (a *app) compileAll(ctx context.Context) (map[*instance]wazero.CompiledModule, error) {
	compiled := make(map[*instance]wazero.CompiledModule, len(a.instances))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(goruntime.NumCPU())
	for _, in := range a.instances {
		g.Go(func() error {
			wasm, err := os.ReadFile(in.spec.Wasm)
			if err != nil {
				return fmt.Errorf("%s %s: %w (run parigot build first)", in.spec.Kind, in.spec.Name, err)
			}
			cm, err := a.rt.CompileModule(gctx, wasm)
			if err != nil {
				return fmt.Errorf("%s %s: compiling %s: %w", in.spec.Kind, in.spec.Name, in.spec.Wasm, err)
			}
			mu.Lock()
			compiled[in] = cm
			mu.Unlock()
			return nil
		})
	}
	return compiled, g.Wait()
}

// describeEnd says how a guest ended: its exit code, whether that counts as a
// crash, and a phrase for humans.
func describeEnd(spec *GuestSpec, err error, panicked bool) (code int, crashed bool, msg string) {
	msg = endText(spec, err, panicked)
	var exit *sys.ExitError
	switch {
	case err == nil:
		return 0, false, msg
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
	case errors.As(err, &exit):
		return fmt.Sprintf("exited with code %d", exit.ExitCode())
	case errors.Is(err, context.Canceled):
		return "was stopped"
	}
	return "trapped: " + firstLine(err.Error())
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
