package host

import (
	"context"
	"fmt"
	"time"
)

// overrun records a method that ran past its budget and grace.
type overrun struct {
	service string
	method  string
	ran     time.Duration
	budget  time.Duration
}

func (o *overrun) String() string {
	return fmt.Sprintf("method %s ran for %s, over its budget of %s", o.method, o.ran.Round(time.Millisecond), o.budget)
}

// watchInterval is how often the host looks for overrunning methods.
const watchInterval = 5 * time.Millisecond

// watch looks for services still executing a method past its budget plus
// Grace, and acts on each according to its OverrunPolicy.
func (a *app) watch(ctx context.Context) {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, in := range a.instances {
				if in.spec.Kind == Service {
					a.checkOverrun(in, now)
				}
			}
		}
	}
}

func (a *app) checkOverrun(in *instance, now time.Time) {
	since := in.busySince.Load()
	if since == 0 || in.overrunSeen.Load() == since {
		return
	}
	ran := now.Sub(time.Unix(0, since))
	budget := in.spec.MethodTimeout
	if ran <= budget+Grace(budget) {
		return
	}
	in.overrunSeen.Store(since)
	method := ""
	if m := in.busyMethod.Load(); m != nil {
		method = *m
	}
	ov := &overrun{service: in.spec.Name, method: method, ran: ran, budget: budget}
	switch {
	case in.spec.Overrun == OverrunReport:
		a.say(in, "parigot: service %s: %s (on_overrun = \"report\": left running)", in.spec.Name, ov)
	case a.cfg.ExitOnOverrun != nil:
		a.say(in, "parigot: service %s: %s; stopping it", in.spec.Name, ov)
		a.cfg.ExitOnOverrun()
	default:
		in.overran.Store(ov)
		a.say(in, "parigot: service %s: %s; stopping it", in.spec.Name, ov)
		in.killNow()
	}
}
