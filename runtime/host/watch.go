package host

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero/sys"
)

// overrun records a method that ran past its budget. ran is measured on
// the host's clock (unixNano) from the guest's last return from poll
// (busySince: it took the call, or woke for a reply, a timer or
// background work; after it answered the call it ran on behalf of, the
// watchdog's first look since: see restartClock) to the watchdog's
// look: wall time, which counts the time the guest's goroutine waited
// for a processor as well as the time it ran.
type overrun struct {
	service string
	method  string
	ran     time.Duration
	budget  time.Duration
	late    bool  // the run ended while the method was still running
	since   int64 // busySince at the look: the work it ran over in (see decideStop)
}

func (o *overrun) String() string {
	s := fmt.Sprintf("method %s ran for %s, over its budget of %s", o.method, o.ran.Round(time.Millisecond), o.budget)
	if o.method == "" {
		s = fmt.Sprintf("it ran for %s without coming back for its calls, outside any method (a timer, a reply's callback, background work, or code after a method answered) while calls waited, over its method budget of %s",
			o.ran.Round(time.Millisecond), o.budget)
	}
	if o.late {
		s += ", and was still running when the run ended"
	}
	return s
}

// watchInterval is how often the host looks for overrunning methods.
const watchInterval = 5 * time.Millisecond

// watch looks for services still executing a method past its budget plus
// Grace, and acts on each according to its OverrunPolicy.
func (r *run) watch(ctx context.Context) {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	var late lateLooks
	var last int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			syncClock()
			// The host's clock, as the guests' stamps (busySince) are,
			// read now: a tick's own time is when it fired, which a
			// watchdog kept from running reads late.
			now := time.Unix(0, unixNano())
			if last != 0 {
				late.note(now.UnixNano(), time.Duration(now.UnixNano()-last)-watchInterval)
			}
			last = now.UnixNano()
			for _, in := range r.services {
				if !in.debugging() {
					r.look(in, now, &late)
				}
			}
		}
	}
}

// look is the watchdog's look at in at now: it restarts the clock of a
// guest that has answered (restartClock), hands back the calls a stalled
// one keeps waiting (shed), and acts on an overrun (checkOverrun).
func (r *run) look(in *instance, now time.Time, late *lateLooks) {
	in.restartClock(now.UnixNano())
	in.shed(now.UnixNano())
	r.checkOverrun(in, now, late)
}

// lateLooks keeps the latest looks of the watchdog that came late, by
// lateLook or more: its goroutine waited that long for a processor, as
// every goroutine of the host, a guest's too, may have meanwhile on a
// loaded machine. Owned by the watchdog's goroutine.
type lateLooks struct {
	at   [32]int64         // when the look was made (Unix nanoseconds)
	late [32]time.Duration // how late it was
	next int
}

// lateLook is how late a look must be to be kept: less is the
// scheduler's ordinary jitter.
const lateLook = 2 * watchInterval

func (l *lateLooks) note(at int64, late time.Duration) {
	if late < lateLook {
		return
	}
	l.at[l.next], l.late[l.next] = at, late
	l.next = (l.next + 1) % len(l.at)
}

// worstSince is how late the latest of the looks made after since (Unix
// nanoseconds) was, at most; zero when none was late.
func (l *lateLooks) worstSince(since int64) time.Duration {
	var worst time.Duration
	for i, at := range l.at {
		if at > since {
			worst = max(worst, l.late[i])
		}
	}
	return worst
}

// sumSince is how long, in all, the looks made after since (Unix
// nanoseconds) were late: how long the watchdog's goroutine waited for a
// processor meanwhile, at least, as far as the looks kept tell.
func (l *lateLooks) sumSince(since int64) time.Duration {
	var sum time.Duration
	for i, at := range l.at {
		if at > since {
			sum += l.late[i]
		}
	}
	return sum
}

// starvedText follows the line of an overrun during which the watchdog's
// own looks came up to late late: the machine was short of processors,
// and the guest may have spent part of the time it "ran" waiting for one.
func starvedText(service string, late time.Duration) string {
	return fmt.Sprintf("parigot: service %s: meanwhile the host's own watchdog waited up to %s for a processor: the machine is short of them, and part of the time the guest ran may have been spent waiting to run", service, late.Round(time.Millisecond))
}

// betweenCalls is busyMethod while a service runs code of no call: a
// timer, a reply's callbacks, background work.
var betweenCalls = new(string)

// afterAnswer is busyMethod once a service has answered the call it ran
// on behalf of (instance.reply), until its next poll: the work its last
// poll handed it is done, and what it runs until its next poll (the rest
// of its event loop's turn, or code that never returns) is code of no
// call, measured from the watchdog's first look after the answer (see
// restartClock), not from the poll.
var afterAnswer = new(string)

// methodName is the method a busyMethod of m names: "" for none (code of
// no call, or code after an answer).
func methodName(m *string) string {
	if m == nil || m == betweenCalls || m == afterAnswer {
		return ""
	}
	return *m
}

// answeredUnseen reports whether the guest, busy since since, has
// answered the call it ran on behalf of, and the watchdog has not yet
// restarted its clock for what follows (restartClock): the time since
// since was its method's, which answered, and nothing runs over yet.
func (in *instance) answeredUnseen(since int64) bool {
	return in.busyMethod.Load() == afterAnswer && since != in.clockRestarted.Load()
}

// restartClock restarts, at now (Unix nanoseconds), the clock of a guest
// that has answered the call it ran on behalf of and has not polled
// since: what it runs until its poll is measured from now, as code of no
// call. On a machine short of processors, a guest's goroutine can wait
// long between its answer and its next poll; measured from the poll that
// handed it the call, that wait was the method's, and a method that had
// answered was stopped. Restarted, not stopped, so that code that never
// returns after an answer (a loop in what follows it) is still stopped,
// a budget and grace after the look. The reply itself only stores
// afterAnswer (one atomic store, as before): the watchdog, at its next
// look, within watchInterval of the answer on a machine that keeps up,
// reads the clock for it. The watchdog's goroutine only.
func (in *instance) restartClock(now int64) {
	since := in.busySince.Load()
	if since <= 0 || !in.answeredUnseen(since) {
		return
	}
	// A look whose now was read before the guest's stamp restarts it at
	// the stamp. A guest that polled meanwhile has a clock of its own
	// again, which the swap leaves alone.
	at := max(now, since)
	if at == since || in.busySince.CompareAndSwap(since, at) {
		in.clockRestarted.Store(at)
	}
}

// overLimit reports whether, at now (Unix nanoseconds), the guest has
// been busy for longer than limit in a way that counts: in a method, or
// in code of no call (betweenCalls, afterAnswer) while calls wait for
// it, since a service must come back for its calls within its method
// budget as a method must end within it. since is when it became busy
// (or, after an answer, when the watchdog restarted its clock), ran how
// long it has been. A guest that answered since the watchdog's last look
// is not over: its clock restarts at the next (restartClock).
func (in *instance) overLimit(now int64, limit time.Duration) (since int64, ran time.Duration, over bool) {
	since = in.busySince.Load()
	if since <= 0 { // it polls, or its stop is decided already
		return 0, 0, false
	}
	ran = time.Duration(now - since)
	if ran <= limit || in.answeredUnseen(since) {
		return since, ran, false
	}
	if methodName(in.busyMethod.Load()) == "" && in.waitingCalls.Load() == 0 {
		return since, ran, false
	}
	return since, ran, true
}

// overrunAt returns the overrun of the guest when, at now, it has been
// busy longer than limit (see overLimit) and that has not been acted on;
// else nil. It marks the overrun acted on.
func (in *instance) overrunAt(now time.Time, limit time.Duration) *overrun {
	since, ran, over := in.overLimit(now.UnixNano(), limit)
	if !over {
		return nil
	}
	if seen := in.overrunSeen.Load(); seen == since || !in.overrunSeen.CompareAndSwap(seen, since) {
		return nil // another look acted on it first
	}
	return &overrun{service: in.spec.Name, method: methodName(in.busyMethod.Load()), ran: ran, budget: in.spec.MethodTimeout, since: since}
}

// overrunHint follows the line that says a service is stopped for an
// overrun: what a method that needs longer can do. Where the guest was
// follows it, as its wasm stack trace, when it was stopped in its own code.
const overrunHint = ". A method that needs longer: raise the service's method_timeout in parigot.hcl, or answer at once and do the work in steps (docs/GUEST_API.md, \"Long work\")"

// overrunTrace is what the guest's stderr says of where a guest stopped
// for an overrun was: its run's error, err, with wazero's wasm stack
// trace when the guest was stopped in its own code (at an interruption
// check, see hostYield); else why there is none. inPoll says its poll
// saw the stop: the guest came back to the host after the watchdog
// decided to stop it (decideStop) and before the stop reached it.
func overrunTrace(err error, inPoll bool) string {
	var exit *sys.ExitError
	switch {
	case errors.Is(err, errStoppedOverBudget) && !errors.As(err, &exit):
		return err.Error()
	case inPoll:
		return "no wasm stack trace: by the time it was stopped, the guest had come back to the host's poll, so where its code ran is not known"
	}
	return "no wasm stack trace: the guest was stopped outside its own code (in a host function, or in a module without parigot's interruption checks, which wazero closes without one)"
}

// endedByStop reports whether a run of a guest whose stop for an overrun
// was decided ended by that stop, by how it ended: err, what its run
// returned, and inPoll, its poll saw the stop. The stop ends a run at an
// interruption check (errStoppedOverBudget), in its poll, or, in a host
// function or a module without the checks, as wazero closes a module
// whose context is done (its exit code for that). Any other end (its
// main returned, it exited, it trapped or panicked) is its own: it came
// between the watchdog's decision and the stop's landing, and is how the
// run ended (see runOnce). ExitSelf(-1) gives the same exit code as a
// close, and reads as the stop.
func endedByStop(err error, inPoll bool) bool {
	var exit *sys.ExitError
	switch {
	case inPoll:
		return true
	case errors.As(err, &exit):
		return exit.ExitCode() == sys.ExitCodeContextCanceled || exit.ExitCode() == sys.ExitCodeDeadlineExceeded
	}
	return errors.Is(err, errStoppedOverBudget)
}

// checkOverrun acts on an overrun of in that the watchdog sees at now,
// by its policy.
//
// The time the watchdog's own goroutine waited for a processor while the
// guest was busy is not counted against the guest: on a machine short of
// processors (a flood of requests, other work), the guest's goroutine
// may have waited as long, and a healthy method that ran its usual few
// milliseconds would be stopped for the machine's wait. A guest that
// truly runs on is acted on once the time it ran beyond those waits
// passes the limit, a little later; the looks kept bound how much later.
func (r *run) checkOverrun(in *instance, now time.Time, late *lateLooks) {
	budget := in.spec.MethodTimeout
	limit := budget + Grace(budget)
	since, ran, over := in.overLimit(now.UnixNano(), limit)
	if !over || ran-late.sumSince(since) <= limit {
		return
	}
	ov := in.overrunAt(now, limit)
	if ov == nil {
		return
	}
	starved := late.worstSince(now.UnixNano() - int64(ov.ran))
	if in.spec.Overrun == OverrunReport {
		r.say("parigot: service %s: %s (on_overrun = \"report\": left running)", r.label(in), ov)
	} else {
		r.stopOverrun(in, ov)
	}
	if starved > 0 {
		r.say("%s", starvedText(r.label(in), starved))
	}
}

// stopOverrun stops in for ov if it is still busy with the work it
// overran in (decideStop): a guest that came back to its poll between
// the watchdog's look and the stop has answered, or gone back for its
// calls, late but on its own, and is left running, as the line says.
// The line that says a stop comes before the stop itself, so that it
// precedes the guest's stack trace in the output.
func (r *run) stopOverrun(in *instance, ov *overrun) {
	if r.afterLook != nil {
		r.afterLook(in)
	}
	if !in.decideStop(ov.since) {
		r.say("parigot: service %s: %s; it came back to the host before it could be stopped: left running", r.label(in), ov)
		return
	}
	in.overran.Store(ov)
	r.say("parigot: service %s: %s; stopping it%s", r.label(in), ov, overrunHint)
	if r.cfg.afterStopDecided != nil {
		r.cfg.afterStopDecided(in)
	}
	in.killNow()
}
