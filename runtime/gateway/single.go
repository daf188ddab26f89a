package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/native"
	"parigot.dev/parigot/runtime/state"
)

// NativeIdentity is the start of the name a gateway's calls come from in
// single mode, where no NATS identity is needed (RunSingle adds "-" and
// the gateway's name, as split mode's NATS users are named): a guest's
// name starts with a letter, so it cannot clash.
const NativeIdentity = "_gateway"

// SingleOptions configures RunSingle.
type SingleOptions struct {
	Guests   []*host.GuestSpec // every guest of the app, in start order
	Gateways []Spec
	Schema   *Schema
	Stdout   io.Writer // as host.Config's
	Stderr   io.Writer
	Progress io.Writer
	Live     bool
	Logger   *slog.Logger // nil: text on Stderr
	// Listening, when set, is called with each gateway's name and URL once
	// it serves.
	Listening func(name, url string)
	// State holds the app's stores and topics, for every guest: host.Config's.
	State *state.Engine
	// Reloads, when set, is host.Config's (parigot dev): every guest then
	// runs in the one host, which runs the programs again after a reload;
	// a swapped service keeps its endpoint, so the gateways call its new
	// version.
	Reloads <-chan host.Reload
	// Observe, when set, adds metrics, tracing and the log format to each
	// host.Config (parigot run --dashboard, --otlp, --log-format).
	Observe func(*host.Config)
	// Explorer, when set, is given the dashboard's API explorer, which
	// calls every service of Guests, once they are ready; and nil when
	// they stop.
	Explorer func(http.Handler)
	// Held, when set, holds the gateways' sockets (parigot dev): they stay
	// open when this run stops, for the next run to serve on.
	Held *Held
	// ProgramsEnded, when set, is called once the programs have ended, or
	// at once for an app without any; the services serve on.
	ProgramsEnded func()
}

// hostEnd is how a host.Run ended.
type hostEnd struct {
	res host.Result
	err error
}

// single is one RunSingle, one method per phase. Every field is owned by
// the goroutine that called RunSingle; the hosts' goroutines only send on
// the channels.
type single struct {
	opts         SingleOptions
	log          *slog.Logger
	reg          *native.Registry
	stopServices context.CancelFunc
	stopPrograms context.CancelFunc
	servicesEnd  chan hostEnd // the services' host, once
	programsEnd  chan hostEnd // the programs' host, once; nil without programs
	servers      []*Server
	res          host.Result
	err          error // the first error: what RunSingle returns
}

// RunSingle runs an app with gateways in one process: the services in one
// host, the gateways calling them in memory, the programs in a host of
// their own beside them. Unlike host.Run, the end of the programs does not
// end the run, nor do services down for good: it serves until ctx ends
// (SIGINT, SIGTERM). Then the gateways stop accepting and finish what they
// have (for up to StopTimeout), and the services drain as in host.Run.
// The error is ctx's when it ended the run.
func RunSingle(ctx context.Context, opts SingleOptions) (host.Result, error) {
	s := &single{opts: opts, log: opts.Logger, reg: native.NewRegistry()}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(opts.Stderr, nil))
	}
	// 1. The services, ready.
	if err := s.startServices(ctx); err != nil {
		s.stop()
		return s.res, err
	}
	// 2. The gateways, and the dashboard's explorer.
	if err := s.listen(); err != nil {
		s.stop()
		return s.res, err
	}
	// 3. The programs.
	s.startPrograms(ctx)
	// 4. Until interrupted, or the services end.
	s.wait(ctx)
	// 5. The gateways first, then the services.
	s.stop()
	return s.res, s.err
}

func (s *single) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

func (s *single) record(e hostEnd) {
	s.res.AddFailures(e.res.Failed, e.res.Failures...)
	if s.res.ExitCode == 0 {
		s.res.ExitCode = e.res.ExitCode
	}
}

// startServices starts the services in a host whose Remote is the
// registry, and waits until they are ready.
func (s *single) startServices(ctx context.Context) error {
	var services []*host.GuestSpec
	var names []string
	for _, g := range s.opts.Guests {
		if g.Kind == host.Service {
			services = append(services, g)
			names = append(names, g.Name)
		}
	}
	if s.opts.Reloads != nil {
		services = s.opts.Guests // the programs too: the host runs them again on reloads
	}
	// The services outlive ctx by their drain: stop ends them.
	sctx, cancel := context.WithCancel(context.Background())
	s.stopServices = cancel
	s.servicesEnd = make(chan hostEnd, 1)
	go func() {
		cfg := host.Config{Guests: services, Stdout: s.opts.Stdout, Stderr: s.opts.Stderr, PrefixWidth: s.prefixWidth(),
			Progress: s.opts.Progress, Live: s.opts.Live, Remote: s.reg, Logger: s.log, Reloads: s.opts.Reloads, State: s.opts.State}
		s.observe(&cfg)
		r, err := host.Run(sctx, cfg)
		s.servicesEnd <- hostEnd{r, err}
	}()
	stopped := make(chan error, 1)
	ready := make(chan error, 1)
	go func() { ready <- s.reg.WaitReady(ctx, names, stopped) }()
	select {
	case err := <-ready:
		return err
	case e := <-s.servicesEnd:
		s.servicesEnd <- e // for stop
		stopped <- nil
		<-ready
		if e.err != nil {
			return e.err
		}
		if len(names) == 0 {
			// An app of programs alone: its services' host, with nothing
			// to run, ends at once, and there was nothing to be ready.
			return nil
		}
		return fmt.Errorf("the services ended before they were all ready")
	}
}

// listen starts every gateway. Each calls as itself, named as split mode
// names its NATS user (_gateway-public), so that the metrics' caller
// label is the same in both modes.
func (s *single) listen() error {
	for _, g := range s.opts.Gateways {
		srv, err := start(g, s.opts.Schema, s.reg, native.NewCaller(NativeIdentity+"-"+g.Name), s.log, s.opts.Held)
		if err != nil {
			return err
		}
		s.servers = append(s.servers, srv)
		if s.opts.Listening != nil {
			s.opts.Listening(g.Name, srv.URL())
		}
	}
	if s.opts.Explorer != nil {
		h, err := newExplorer(s.opts.Schema, s.opts.Guests, s.reg, native.NewCaller(NativeIdentity+"-"+ExplorerName), s.log)
		if err != nil {
			return err
		}
		s.opts.Explorer(h)
	}
	return nil
}

// Start serves gateway g on its address: its calls go to the endpoints
// find gives, from caller. The topology-test harness starts gateways with
// it; RunSingle and ServeSplit run them for parigot run.
func Start(g Spec, schema *Schema, find native.Services, caller *native.Caller, log *slog.Logger) (*Server, error) {
	return start(g, schema, find, caller, log, nil)
}

// start is Start, on a socket held in held when it is not nil.
func start(g Spec, schema *Schema, find native.Services, caller *native.Caller, log *slog.Logger, held *Held) (*Server, error) {
	log = log.With("gateway", g.Name)
	be := backend{find: find, caller: caller, log: log, headers: g.Headers}
	sub := newSubscribed(g.Subscribed)
	h, err := newHandler(schema, g.Services, sub, be, log)
	if err != nil {
		return nil, fmt.Errorf("gateway %s: %w", g.Name, err)
	}
	gs, err := newGRPC(schema, g.Services, sub, be, log, defaultLimits)
	if err != nil {
		return nil, fmt.Errorf("gateway %s: %w", g.Name, err)
	}
	if held == nil {
		return listen(g.Name, g.Listen, withCORS(g.CORSOrigins, h), gs, log, defaultLimits)
	}
	f, err := held.front(g.Name, g.Listen, log)
	if err != nil {
		return nil, err
	}
	return serveHeld(g.Name, f, withCORS(g.CORSOrigins, h), gs), nil
}

// startPrograms runs the programs in a host of their own, whose Remote is
// the registry.
func (s *single) startPrograms(ctx context.Context) {
	if s.opts.Reloads != nil {
		return // the services' host runs them
	}
	var programs []*host.GuestSpec
	for _, g := range s.opts.Guests {
		if g.Kind == host.Program {
			programs = append(programs, g)
		}
	}
	if len(programs) == 0 {
		s.programsDone()
		return
	}
	pctx, cancel := context.WithCancel(ctx)
	s.stopPrograms = cancel
	s.programsEnd = make(chan hostEnd, 1)
	go func() {
		// The services are compiled and ready by now: the programs'
		// compile has the terminal's status line to itself.
		cfg := host.Config{Guests: programs, Stdout: s.opts.Stdout, Stderr: s.opts.Stderr, PrefixWidth: s.prefixWidth(), Progress: s.opts.Progress, Live: s.opts.Live,
			Remote: s.reg, Logger: s.log, State: s.opts.State}
		s.observe(&cfg)
		r, err := host.Run(pctx, cfg)
		s.programsEnd <- hostEnd{r, err}
	}()
}

// wait serves until ctx ends, the services' host fails, or a gateway stops
// serving by itself. The programs' end is recorded, and the serving goes
// on; so does it when every service is down for good (the host said so of
// each as it went down): the gateways answer unavailable, as for one
// service down, until the app is stopped.
func (s *single) wait(ctx context.Context) {
	failed := make(chan error, len(s.servers))
	for _, srv := range s.servers {
		go srv.watch(failed)
	}
	servicesEnd := s.servicesEnd
	for {
		select {
		case <-ctx.Done():
			s.fail(ctx.Err())
			return
		case e := <-servicesEnd:
			s.servicesEnd <- e // for stop
			if e.err != nil {
				return
			}
			servicesEnd = nil
		case e := <-s.programsEnd:
			s.programsEnd = nil
			s.record(e)
			s.programsDone()
			if e.err != nil && ctx.Err() == nil {
				s.fail(e.err)
				return
			}
		case err := <-failed:
			s.fail(err)
			return
		}
	}
}

// stop stops the gateways (they finish the requests they have), then the
// programs and services.
func (s *single) stop() {
	if s.opts.Explorer != nil {
		s.opts.Explorer(nil)
	}
	for _, srv := range s.servers {
		srv.Stop()
	}
	if s.stopPrograms != nil {
		s.stopPrograms()
		if s.programsEnd != nil {
			s.record(<-s.programsEnd)
		}
	}
	if s.stopServices != nil {
		s.stopServices()
		e := <-s.servicesEnd
		s.record(e)
	}
}

// programsDone tells SingleOptions.ProgramsEnded that the programs have
// ended.
func (s *single) programsDone() {
	if s.opts.ProgramsEnded != nil {
		s.opts.ProgramsEnded()
	}
}

// observe applies SingleOptions.Observe to cfg.
// prefixWidth is the width of every guest's output prefix in both runs,
// the services' and the programs': the longest name of all, so that their
// lines align as one run's do.
func (s *single) prefixWidth() int {
	w := 0
	for _, g := range s.opts.Guests {
		w = max(w, len(g.Name))
	}
	return w
}

func (s *single) observe(cfg *host.Config) {
	if s.opts.Observe != nil {
		s.opts.Observe(cfg)
	}
}
