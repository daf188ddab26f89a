package host

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/internal/route"
)

// ended is a guest's supervisor reporting that it is done for good (after
// any restarts).
type ended struct {
	in       *instance
	end      ending    // how its last run ended
	failures []Failure // the failures on the way, restarts included: the latest FailuresKept
	failed   int       // how many failures there were on the way
}

// supervise runs a guest until it is done for good: it restarts a service
// that failed when its policy says so, and then reports on r.done.
func (r *run) supervise(ctx context.Context, in *instance) {
	var failures []Failure
	failed := 0
	var restarts Restarts
	for {
		if s := in.swapTo.Swap(nil); s != nil { // a reload came between two runs
			in.swapIn(s)
		}
		began := time.Now()
		end := r.runOnce(ctx, in)
		ran := time.Since(began)
		in.giveUpRequests()
		if s := in.swapTo.Swap(nil); s != nil && ctx.Err() == nil && !in.stopping.Load() {
			// Stopped for a reload: the new version takes over the inbox.
			in.swapIn(s)
			restarts = Restarts{}
			continue
		}
		if s := in.starting; s != nil {
			in.starting = nil
			if ctx.Err() == nil && !in.stopping.Load() {
				// A reload's new version ended before it was ready: the
				// version it replaced serves again.
				if f := end.failure; f != nil {
					r.say("parigot: %s", f)
				}
				in.giveWay(s)
				restarts = Restarts{}
				continue
			}
			s.oldRT.Close(context.Background())
		}
		reason := fmt.Sprintf("%s %s was stopped", in.spec.Kind, in.spec.Name)
		if f := end.failure; f != nil {
			f.Replica = r.cfg.Replica
			failures = AppendFailures(failures, *f)
			failed++
			reason = f.Reason()
		}
		in.setPanicMessage(end.panicMessage) // before close, whose replies a subscription reads it with
		in.close(reason)
		if in.spec.Kind == Service && end.failure != nil {
			// Other replicas take its calls while it is down, for a while
			// or for good (it serves again once ready: hostReady).
			if p, ok := r.cfg.Remote.(route.Pauser); ok {
				p.Pause(in.spec.Name)
			}
		}
		if n, ok := r.restart(ctx, in, end, &restarts); ok {
			in.restarting.Store(true) // until reset
			wait := r.cfg.Backoff.Wait(n, ran)
			r.say("%s", RestartLine(*end.failure, n, wait))
			in.sayEndedNotes()
			failures[len(failures)-1].Said = true // the run's summary need not say it again
			if r.backOff(ctx, in, wait) {
				if r.obs != nil {
					r.obs.Restart(ReplicaLabel(in.spec.Name, r.cfg.Replica))
				}
				in.reset()
				continue
			}
			in.restarting.Store(false) // the run ended meanwhile: it is down
		}
		if in.spec.Kind == Service {
			r.stopSubscriptionsOf(in)
		}
		r.done <- ended{in: in, end: end, failures: failures, failed: failed}
		return
	}
}

// restart decides whether in, whose run ended as end, comes back, and
// which restart of its service in the RestartWindow that is (from 1): by
// its policy, unless the run is ending, and by the count of the service's
// restarts, restarts, or with Config.Restart the count kept there.
func (r *run) restart(ctx context.Context, in *instance, end ending, restarts *Restarts) (int, bool) {
	if end.failure == nil || !in.spec.Restart.Allows(in.spec.Kind) || r.ending(ctx, in) {
		return 0, false
	}
	if r.cfg.Restart != nil {
		return r.cfg.Restart()
	}
	return restarts.Take(time.Now(), r.cfg.Backoff.RestartWindow())
}

// ending reports whether in's run is ending, so that it must not start
// again: its supervisor's ctx is done, the host asked it to stop, or the
// services are draining (Run's ctx is done: Ctrl-C, SIGTERM).
func (r *run) ending(ctx context.Context, in *instance) bool {
	select {
	case <-r.draining:
		return true
	default:
	}
	return ctx.Err() != nil || in.stopping.Load()
}

// backOff waits wait (see Backoff) before in, which failed and whose
// inbox is closed (calls to it fail at once with unavailable), starts
// again, on in's supervisor's goroutine: the other guests run on. It
// reports whether in starts again: not when its run ends meanwhile, which
// ends the wait at once. A reload's new version (see run.swap, which
// stops in's current run with killNow) ends it at once too, and starts.
func (r *run) backOff(ctx context.Context, in *instance, wait time.Duration) bool {
	if wait > 0 {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		in.setKill(cancel)
		defer in.setKill(nil)
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-wctx.Done():
		case <-r.draining:
		}
	}
	return !r.ending(ctx, in)
}

// sleepUnless is a guest's sleep (WASI's poll_oneoff on a clock, where Go's
// time.Sleep and its idle scheduler end up): it ends early once ctx, the
// guest's run, is done, so that the host can stop a guest that sleeps (a
// method in a long time.Sleep, over its budget) as it stops one that
// loops: the guest wakes and leaves at its next fuel check.
func sleepUnless(ctx context.Context) sys.Nanosleep {
	return func(ns int64) {
		t := time.NewTimer(time.Duration(ns))
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}

// runOnce instantiates the guest's module, which runs its main to the end,
// and says how it ended.
func (r *run) runOnce(ctx context.Context, in *instance) ending {
	prefix := lines.Prefix(ReplicaLabel(in.spec.Name, r.cfg.Replica), r.width)
	if r.cfg.Plain {
		prefix = ""
	}
	stdout := newGuestOutput(r.console, prefix, r.cfg.markSaid())
	stderr := newGuestOutput(r.errConsole, prefix, r.cfg.markSaid())
	if r.cfg.LogJSON {
		label := ReplicaLabel(in.spec.Name, r.cfg.Replica)
		stdout = jsonGuestOutput(r.console, label, "stdout", in.logTag)
		stderr = jsonGuestOutput(r.errConsole, label, "stderr", in.logTag)
	}
	if r.cfg.Lines != nil {
		r.teeLines(in, stdout, "stdout")
		r.teeLines(in, stderr, "stderr")
	}
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	mc := wazero.NewModuleConfig().
		WithName(in.spec.Name).
		WithArgs(in.spec.Name).
		WithStdout(stdout).
		WithStderr(stderr).
		WithSysNanotime().WithSysWalltime().WithNanosleep(sleepUnless(actx)).
		WithRandSource(rand.Reader).
		WithStartFunctions(startFunction)
	for _, kv := range guestEnv(in.spec) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			mc = mc.WithEnv(k, v)
		}
	}
	in.setKill(cancel)
	in.exiting.Store(false)
	in.stoppedInPoll.Store(false)
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("host failure while running guest: %v", p)
			}
		}()
		r.awake.Add(1) // its polls count themselves out while they park
		defer r.awake.Add(-1)
		if in.debugging() {
			err = nativeError(r.runNative(actx, in, stdout, stderr))
			return
		}
		var mem guestMemory
		defer mem.done() // after the guest's code, whatever ended it
		mod, ierr := in.rt.InstantiateModule(mem.context(withInstance(actx, in)), in.compiled, mc)
		err = ierr
		if mod != nil {
			mod.Close(context.Background())
		}
	}()
	if in.backAtPoll() {
		// Its run ended after the watchdog decided to stop it: the stop
		// (and the overrun it records) is a moment away, and must land
		// on this run, not the next. Whether the stop or the guest
		// itself ended the run is told by how it ended (endedByStop).
		<-actx.Done()
	}
	in.setKill(nil)
	stdout.Flush()
	stderr.Flush()
	stopping := in.stopping.Load() || ctx.Err() != nil || in.swapTo.Load() != nil
	overran := in.overran.Swap(nil)
	endedFirst := overran != nil && !endedByStop(err, in.stoppedInPoll.Load())
	if endedFirst {
		// Its run ended by itself (its main returned, it exited, it
		// crashed) after the watchdog decided to stop it and before the
		// stop landed: that end is how it ended, not the stop.
		overran = nil
	}
	end := classify(in.spec, err, signs{
		panicked:   stdout.panicked.Load() || stderr.panicked.Load(),
		oom:        stdout.oom.Load() || stderr.oom.Load(),
		deadlocked: stdout.deadlocked.Load() || stderr.deadlocked.Load(),
		overran:    overran,
		stopping:   stopping,
	})
	if endedFirst {
		how := "ended"
		if end.failure != nil {
			how = end.failure.Phrase()
		}
		r.say("parigot: %s %s: its run ended on its own before the stop reached it: it %s", in.spec.Kind, r.label(in), how)
	}
	if end.failure != nil && end.failure.Cause == CausePanicked {
		end.panicMessage = panicMessage(stderr, stdout)
	}
	if end.failure == nil && end.code == 0 && !stopping {
		r.saidNoLoop(in)
	}
	var exit *sys.ExitError
	switch f := end.failure; {
	case f == nil:
	case f.Cause == CauseOverran:
		fmt.Fprintf(stderr, "%s\n", shortFrames(overrunTrace(err, in.stoppedInPoll.Load())))
		stderr.Flush()
	case f.Cause == CauseTrapped && !errors.As(err, &exit):
		fmt.Fprintf(stderr, "%s\n", shortFrames(err.Error())) // show wazero's wasm stack trace: where it was
		stderr.Flush()
	}
	return end
}

// saidNoLoop notes a program that ended with code 0 without ExitSelf
// (which MustRunClient ends with too) though it uses the guest API: its
// main returned, or it called os.Exit. A main that returned before
// MustRunClient leaves whatever it queued (LaunchClient's callback, the
// calls it made) unrun, and the run would end with 0 and nothing said. A
// program that does not import exiting is a plain Go program, whose main
// may well just return, or one built against a parigot library from
// before exiting, whose ExitSelf the host cannot see.
func (r *run) saidNoLoop(in *instance) {
	if in.spec.Kind != Program || in.debugging() || in.exiting.Load() || !importsExiting(in.compiled) {
		return
	}
	r.say("parigot: note: program %s ended without guest.ExitSelf: if its main returned before guest.MustRunClient(), what it queued (LaunchClient's callback, its calls) never ran; a program's main ends in guest.MustRunClient() (docs/GUEST_API.md)", r.label(in))
}

// importsExiting reports whether the module imports parigot's host
// function exiting, which the guest library links into every guest that
// uses it: a plain Go program does not, nor a guest of a library from
// before exiting existed, whose ExitSelf says nothing to the host.
func importsExiting(m wazero.CompiledModule) bool {
	if m == nil {
		return false
	}
	for _, f := range m.ImportedFunctions() {
		if mod, name, ok := f.Import(); ok && mod == abi.HostModule && name == abi.FuncExiting {
			return true
		}
	}
	return false
}
