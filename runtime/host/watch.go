package host

import (
	"context"
	"fmt"
	"time"
)

// overrun records a method that ran past its budget.
type overrun struct {
	service string
	method  string
	ran     time.Duration
	budget  time.Duration
	late    bool // the run ended while the method was still running
}

func (o *overrun) String() string {
	s := fmt.Sprintf("method %s ran for %s, over its budget of %s", o.method, o.ran.Round(time.Millisecond), o.budget)
	if o.method == "" {
		s = fmt.Sprintf("it ran for %s outside any method (a timer, a reply's callback or background work) while calls waited, over its method budget of %s",
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
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			syncClock()
			for _, in := range r.services {
				if !in.debugging() {
					r.checkOverrun(in, now)
				}
			}
		}
	}
}

// betweenCalls is busyMethod while a service runs code of no call: a
// timer, a reply's callbacks, background work.
var betweenCalls = new(string)

// overrunAt returns the overrun of the method the guest is executing when,
// at now, it has run longer than limit and has not been acted on; else nil.
// It marks the overrun acted on. Code of no call (betweenCalls) overruns
// only while calls wait for it: a service must come back for its calls
// within its method budget, as a method must end within it.
func (in *instance) overrunAt(now time.Time, limit time.Duration) *overrun {
	since := in.busySince.Load()
	if since == 0 {
		return nil
	}
	ran := now.Sub(time.Unix(0, since))
	if ran <= limit {
		return nil
	}
	if in.busyMethod.Load() == betweenCalls && in.waitingCalls.Load() == 0 {
		return nil
	}
	if seen := in.overrunSeen.Load(); seen == since || !in.overrunSeen.CompareAndSwap(seen, since) {
		return nil // another look acted on it first
	}
	method := ""
	if m := in.busyMethod.Load(); m != nil && m != betweenCalls {
		method = *m
	}
	return &overrun{service: in.spec.Name, method: method, ran: ran, budget: in.spec.MethodTimeout}
}

// pastBudget reports whether, at now (Unix nanoseconds), the guest has
// run its current method, or code of no call while calls wait for it,
// for longer than its method budget: what overrunAt reports, without the
// grace and without marking anything.
func (in *instance) pastBudget(now int64) bool {
	since := in.busySince.Load()
	if since == 0 || now-since <= int64(in.spec.MethodTimeout) {
		return false
	}
	return in.busyMethod.Load() != betweenCalls || in.waitingCalls.Load() > 0
}

func (r *run) checkOverrun(in *instance, now time.Time) {
	budget := in.spec.MethodTimeout
	ov := in.overrunAt(now, budget+Grace(budget))
	if ov == nil {
		return
	}
	if in.spec.Overrun == OverrunReport {
		r.say("parigot: service %s: %s (on_overrun = \"report\": left running)", in.spec.Name, ov)
		return
	}
	in.overran.Store(ov)
	r.say("parigot: service %s: %s; stopping it", in.spec.Name, ov)
	in.killNow()
}
