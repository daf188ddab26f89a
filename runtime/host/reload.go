package host

import (
	"context"
	"errors"
	"fmt"
	"maps"
	goruntime "runtime"
	"slices"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"

	"parigot.dev/parigot/internal/progress"
	"parigot.dev/parigot/runtime/internal/abi"
)

// Reload asks a running app for new builds of some of its guests (see
// Config.Reloads): parigot dev sends one each time a rebuild changed them.
type Reload struct {
	// Wasm maps the name of each guest that changed to the path of its new
	// module. It may be empty: the programs that had ended then just run
	// again.
	Wasm map[string]string
	// DownOnly, for a save that changed no guest's build, leaves the
	// programs as they are: the reload only starts again the services
	// that went down (every reload does that).
	DownOnly bool
	// Done, when set, receives the outcome once the changed services serve
	// again and the programs have started again: nil, or why the reload
	// did not take, in which case the guests it names run as before.
	Done chan<- error
}

// develop is the run of an app that takes reloads (Config.Reloads): it
// starts the programs and, whenever a reload comes, swaps in the changed
// guests and runs again the programs that had ended. Services keep serving
// when the programs end; the run lasts until ctx ends. What fails is said
// at once (reportNow), as the user is watching.
func (r *run) develop(ctx context.Context) {
	r.startPrograms(ctx)
	for {
		select {
		case e := <-r.done:
			r.reportNow(e)
		case rl := <-r.cfg.Reloads:
			err := r.reload(ctx, rl)
			if rl.Done != nil {
				rl.Done <- err
			}
		case <-ctx.Done():
			r.reportLateOverruns()
			r.drainCalls()
			r.fail(ctx.Err())
			return
		}
	}
}

// reportNow takes in the end of a guest, as report does, and says at once
// how it failed, or a program's exit code: during parigot dev the run does
// not end, so there is no end of the run to say it at.
func (r *run) reportNow(e ended) {
	r.report(e)
	for i, f := range e.failures {
		switch {
		case f.Said: // a restart line said it
		case i == len(e.failures)-1 && e.in.spec.Kind == Service && !e.in.stopping.Load():
			r.say("%s", DevDownLine(f))
		default:
			r.say("parigot: %s", f)
		}
	}
	if e.in.spec.Kind == Program && e.end.code != 0 && len(e.failures) == 0 && !e.in.stopping.Load() {
		r.say("parigot: program %s exited with code %d", e.in.spec.Name, e.end.code)
	}
}

// startPrograms starts every program.
func (r *run) startPrograms(ctx context.Context) {
	for _, in := range r.programs {
		r.start(ctx, in)
	}
}

// reload applies rl: it compiles every changed guest first, while the old
// versions run on, so that a module that does not compile changes nothing.
// Then it swaps each changed service while everything else runs on (the
// other services keep what they hold in memory). Last come the programs:
// a changed one is stopped and started in its new version, and one that
// had ended runs again, to show what the change does; one that still runs
// and did not change runs on, and sees the new services.
func (r *run) reload(ctx context.Context, rl Reload) error {
	builds, err := r.compileReloaded(ctx, rl.Wasm)
	if err != nil {
		return err
	}

	var errs []error
	for _, b := range builds {
		if b.in.spec.Kind == Service {
			if err := r.swap(ctx, b.in, &swap{rt: b.rt, compiled: b.compiled, ready: make(chan struct{}), gaveWay: make(chan struct{})}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, r.reviveDown(ctx, rl.Wasm)...)
	if rl.DownOnly {
		return errors.Join(errs...)
	}
	changed := map[*instance]bool{}
	for _, b := range builds {
		if b.in.spec.Kind == Program {
			changed[b.in] = true
		}
	}
	r.stopGuests(changed, r.reportNow)
	for _, b := range builds {
		if b.in.spec.Kind == Program {
			b.in.replaceModule(b.rt, b.compiled)
		}
	}
	for _, in := range r.programs {
		if !r.running[in] {
			r.startAgain(ctx, in)
		}
	}
	return errors.Join(errs...)
}

// reloaded is the new version of one guest, compiled and ready to swap in.
type reloaded struct {
	in       *instance
	rt       wazero.Runtime
	compiled wazero.CompiledModule
}

// compileReloaded compiles the new version of each guest wasm names
// (name -> .wasm path), in name order, while the old versions run on. It
// shows that it is at work as the first load does (a status line on a
// terminal, a "still compiling" line every so often elsewhere): a guest's
// new build compiles from scratch, which takes seconds on a busy machine.
// On error nothing is left open.
func (r *run) compileReloaded(ctx context.Context, wasm map[string]string) ([]reloaded, error) {
	p := progress.New(r.cfg.Progress, r.cfg.Live)
	stop := p.Watch()
	defer p.Clear()
	defer stop()
	var builds []reloaded
	closeAll := func() {
		for _, b := range builds {
			b.rt.Close(context.Background())
		}
	}
	// A reload compiles few guests, while the others wait: each uses
	// every core.
	cctx := experimental.WithCompilationWorkers(ctx, goruntime.NumCPU())
	for _, name := range slices.Sorted(maps.Keys(wasm)) {
		in := r.instance(name)
		if in == nil {
			closeAll()
			return nil, fmt.Errorf("no guest named %s in this run: a guest added to parigot.hcl needs the app restarted", name)
		}
		p.Begin(name)
		rt, compiled, err := r.compileGuest(cctx, in.spec, wasm[name], p.Note)
		p.End(name)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("%s %s: %w", in.spec.Kind, name, err)
		}
		builds = append(builds, reloaded{in, rt, compiled})
	}
	return builds, nil
}

// replaceModule makes in run compiled, in its runtime rt, from its next
// start; the guest must not be running its old module.
func (in *instance) replaceModule(rt wazero.Runtime, compiled wazero.CompiledModule) {
	if in.rt != nil { // nil for a guest under the debugger, which has no module
		in.rt.Close(context.Background())
	}
	in.rt, in.compiled = rt, compiled
}

// startAgain starts a guest that had ended, its inbox open again.
func (r *run) startAgain(ctx context.Context, in *instance) {
	in.reset()
	in.stopping.Store(false)
	r.start(ctx, in)
}

// instance is the guest of this run named name, or nil.
func (r *run) instance(name string) *instance {
	for _, in := range r.instances {
		if in.spec.Name == name {
			return in
		}
	}
	return nil
}

// reviveDown starts again, each in the version it ran, the services that
// went down for good (they crashed, their restarts spent): during parigot
// dev the save that brought the reload may have fixed what ended them, in
// a guest that calls them, say. Those with a new version in it (changed)
// had their try. Each is said, and what kept one from serving again is
// returned.
func (r *run) reviveDown(ctx context.Context, changed map[string]string) []error {
	var errs []error
	for _, in := range r.services {
		if _, ok := changed[in.spec.Name]; ok || r.running[in] || in.rt == nil {
			continue
		}
		r.say("parigot: service %s, which had gone down, starts again", in.spec.Name)
		if err := r.startDown(ctx, in, &swap{ready: make(chan struct{})}); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// startDown starts in, a service that had ended for good, in the module
// it now has, and waits until it is ready (s.ready) and its subscriptions
// run again: they stopped when it went down.
func (r *run) startDown(ctx context.Context, in *instance, s *swap) error {
	in.readyWaiter = s.ready
	r.startAgain(r.servicesCtx, in)
	if err := r.awaitSwap(ctx, in, s); err != nil {
		return err
	}
	return r.subscribe(ctx, in)
}

// swap is a new version of a service on its way in.
type swap struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	ready    chan struct{} // closed when the new version calls ready
	// gaveWay, when set, is closed if the new version ends before it is
	// ready and the version it replaced serves again in its place (see
	// instance.starting). Nil for that version's own return.
	gaveWay chan struct{}
	// oldRT and oldCompiled are the version this one replaced, kept while
	// it starts (see swapIn).
	oldRT       wazero.Runtime
	oldCompiled wazero.CompiledModule
}

// giveWay puts back the version that s, a reload's new version which
// ended before it was ready, replaced: it takes the calls waiting in the
// inbox, as s would have. It starts anew: what it held in memory is gone.
func (in *instance) giveWay(s *swap) {
	in.swapIn(&swap{rt: s.oldRT, compiled: s.oldCompiled, ready: make(chan struct{})})
	close(s.gaveWay)
}

// swap replaces the running service in by s: it holds new calls in the
// inbox, waits (up to DrainTimeout) until the old version has answered the
// calls it took, stops it, and starts s in its place, which then takes the
// held calls. No call is lost: a caller sees its call take longer. A
// service that had ended for good just starts again, in its new version.
func (r *run) swap(ctx context.Context, in *instance, s *swap) error {
	if !r.running[in] {
		s.gaveWay = nil // no version to give way to
		in.replaceModule(s.rt, s.compiled)
		return r.startDown(ctx, in, s)
	}
	in.hold.Store(true)
	deadline := time.Now().Add(r.cfg.DrainTimeout)
	for in.serving.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	in.swapTo.Store(s)
	in.killNow()
	return r.awaitSwap(ctx, in, s)
}

// awaitSwap waits until the new version of in is ready.
func (r *run) awaitSwap(ctx context.Context, in *instance, s *swap) error {
	timer := time.NewTimer(r.cfg.ReadyTimeout)
	defer timer.Stop()
	for {
		select {
		case <-s.ready:
			return nil
		case <-s.gaveWay:
			return fmt.Errorf("service %s: its new version ended before it was ready; the version it replaced serves again, started anew (what it held in memory is gone)", in.spec.Name)
		case e := <-r.done:
			r.reportNow(e)
			if e.in == in {
				return fmt.Errorf("service %s ended before its new version was ready", in.spec.Name)
			}
		case <-timer.C:
			return r.stopUnready(ctx, in, s)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// stopUnready stops the new version s of in, which was not ready within
// the ready timeout, so that the version it replaced serves again, as it
// does for a new version that ends by itself.
func (r *run) stopUnready(ctx context.Context, in *instance, s *swap) error {
	late := fmt.Errorf("service %s: its new version was not ready within %s", in.spec.Name, r.cfg.ReadyTimeout)
	if s.gaveWay == nil {
		return late // it replaced a service that had ended: nothing to go back to
	}
	in.killNow()
	for {
		select {
		case <-s.ready: // ready after all, as it was stopped
			return nil
		case <-s.gaveWay:
			return fmt.Errorf("%w; it was stopped, and the version it replaced serves again, started anew (what it held in memory is gone)", late)
		case e := <-r.done:
			r.reportNow(e)
			if e.in == in {
				return late
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// swapIn puts the new version s in place of the version of in that just
// ended, on the guest's own goroutine: the calls held in the inbox stay for
// the new version; the calls the old one took and did not answer (it ran
// past the drain time) fail with unavailable, and its own calls are
// forgotten (their late replies are dropped).
func (in *instance) swapIn(s *swap) {
	for _, t := range in.incoming {
		t.caller.Deliver(abi.ErrorEvent(t.callID, abi.CodeUnavailable, fmt.Sprintf("service %s was replaced by a new version while serving this call", in.spec.Name)), nil)
	}
	if s.gaveWay != nil { // a reload's new version: keep the version it replaces while it starts
		if prev := in.starting; prev != nil {
			// The running version never got ready: the one before it
			// stays the one to fall back on.
			s.oldRT, s.oldCompiled = prev.oldRT, prev.oldCompiled
		} else {
			s.oldRT, s.oldCompiled = in.rt, in.compiled
			in.rt = nil // kept, not closed, by replaceModule
		}
		in.starting = nil
		if s.oldRT != nil {
			in.starting = s
		}
	}
	in.replaceModule(s.rt, s.compiled)
	in.ready.reset()
	in.readyReplies = 0
	in.pending = make(map[uint64]outgoing)
	in.incoming = make(map[uint64]replyTarget)
	in.handles = nil
	in.exported = make(map[string]bool)
	in.serving.Store(0)
	in.readyWaiter = s.ready
	in.mu.Lock()
	var calls, bytes int64
	for _, d := range in.queue {
		bytes += waitingSize(&d.ev)
		if d.ev.Kind == abi.KindCall {
			calls++
		}
	}
	in.waitingCalls.Store(calls)
	in.waitingBytes.Store(bytes)
	in.mu.Unlock()
	in.hold.Store(false)
}
