package guest

import (
	"time"
)

// After runs fn on the event loop once d has passed. It does not block: the
// loop goes on serving calls and replies meanwhile. A program uses it to poll
// for the result of long work at intervals. Set while a method runs, fn runs
// under that call's deadline: the calls it makes inherit what is left of it.
func After(d time.Duration, fn func()) {
	at := time.Now().Add(d)
	i := len(loop.timers)
	for i > 0 && loop.timers[i-1].at.After(at) {
		i--
	}
	loop.timers = append(loop.timers, timer{})
	copy(loop.timers[i+1:], loop.timers[i:])
	loop.timers[i] = timer{at: at, fn: fn, deadline: loop.deadline}
}

// Background runs step on the event loop whenever no event is waiting, until
// step reports that it is done. It is how a service does work that takes
// longer than its method budget: a method starts the work, returns an Id at
// once, and the work advances one short step at a time between calls, so the
// service keeps answering. Each step must take well under the budget, since a
// call that arrives meanwhile waits for it.
func Background(step func() (done bool)) {
	loop.background = append(loop.background, step)
}

type timer struct {
	at       time.Time
	fn       func()
	deadline int64 // the loop's deadline when it was set: fn runs under it
}

// runDue runs the timers whose time has come, in order.
func (l *eventLoop) runDue(now time.Time) {
	for len(l.timers) > 0 && !l.timers[0].at.After(now) {
		t := l.timers[0]
		l.timers = l.timers[1:]
		l.under(t.deadline, t.fn)
	}
}

// runBackground advances the first background task by one step and moves it
// to the back of the queue, so that several tasks share the loop.
func (l *eventLoop) runBackground() {
	if len(l.background) == 0 {
		return
	}
	step := l.background[0]
	l.background = l.background[1:]
	// Background work outlives the call that started it: its steps, and the
	// calls they make, inherit no deadline.
	var done bool
	l.under(0, func() { done = step() })
	if !done {
		l.background = append(l.background, step)
	}
}

// pollTimeout is how long poll may wait: not at all with background work,
// until the next timer with one, else forever. now is only read when there
// are timers.
func (l *eventLoop) pollTimeout(now time.Time) int64 {
	switch {
	case len(l.background) > 0:
		return 0
	case len(l.timers) > 0:
		return max(int64(l.timers[0].at.Sub(now)), 0)
	}
	return -1
}
