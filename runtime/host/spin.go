package host

import (
	"os"
	goruntime "runtime"
	"sync"
	"time"
)

// EnvPollSpin names the environment variable that sets how long a guest's
// poll may wait for its next event with the processor in hand, yielding
// it to other goroutines, before it parks the guest's goroutine: a Go
// duration from 0 (never) to 1ms. Unset or not such a duration:
// DefaultPollSpin.
const EnvPollSpin = "PARIGOT_POLL_SPIN"

// DefaultPollSpin is the poll's spin when EnvPollSpin does not set one.
//
// Two guests in a quick exchange (a program and the service it calls,
// one call after another) each wait a few microseconds for the other, and
// parking a goroutine, then waking it from the other guest's, costs about
// as much again: the woken guest is queued behind its waker on the
// waker's processor, so the two take turns on one core where they could
// run on two. A short spin keeps each guest on its own processor while
// the exchange lasts (docs/BENCHMARKS.md, "The poll's spin"). It is only
// for exchanges between guests (see spin), so that a guest whose callers
// are a gateway's clients or other processes never spins: spinning there
// would only take the processor from the goroutines that bring the calls.
//
// It outlasts the short gaps of a busy exchange (a collection, a burst of
// replies to read): a guest that parks in one is woken onto its waker's
// processor, and from then on the two take turns there, each waiting too
// long to spin again. A spin of 10us lost a fifth of the calls/s with 8 in
// flight that way.
const DefaultPollSpin = 50 * time.Microsecond

// maxPollSpin bounds EnvPollSpin.
const maxPollSpin = time.Millisecond

// pollSpin is the spin of this process's polls, read once.
var pollSpin = sync.OnceValue(func() time.Duration { return parsePollSpin(os.Getenv(EnvPollSpin)) })

// parsePollSpin is the spin s sets, or DefaultPollSpin when it sets none.
func parsePollSpin(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if s == "0" {
		d, err = 0, nil
	}
	if err != nil || d < 0 || d > maxPollSpin {
		return DefaultPollSpin
	}
	return d
}

// spin waits up to window for an event, yielding the processor meanwhile,
// before a poll parks the guest's goroutine: only when the guest is in a
// quick exchange with another guest of this process (its last call or
// reply came from one, after a wait shorter than window). Calls from a
// gateway's or another process's goroutines do not count: those
// goroutines need the processor the spin would hold. It reports whether
// the inbox has something. It reads the inbox's flag (queued), not the
// inbox under its mutex, which the pushing guest would contend for.
func (in *instance) spin(window time.Duration) bool {
	if window <= 0 || !in.peerIsGuest || in.lastWait >= window {
		return false
	}
	start := time.Now()
	for {
		// A look at the flag costs a load; a yield, a pass through the
		// scheduler, which the other guest's spin makes too.
		for range in.run.looksBetweenYields() {
			if in.queued.Load() {
				return true
			}
		}
		goruntime.Gosched()
		if in.queued.Load() {
			return true
		}
		if time.Since(start) >= window {
			return false
		}
	}
}

// looksBetweenYields is how many times a spin looks at the inbox's flag
// before it yields the processor: fewer while more guests are awake (not
// parked in a poll) than there are processors, since one of them may be
// waiting for the processor the spin holds.
func (r *run) looksBetweenYields() int {
	if r.awake.Load() > r.procs {
		return sharedSpinLooks
	}
	return spinLooks
}

// spinLooks is how many times a spin looks at the inbox's flag between
// two yields while the guests awake (not parked in a poll) are no more
// than the processors: about 2 us of looks (on the machines of
// docs/BENCHMARKS.md). The guest it waits for then has a processor of its
// own, and a yield only lets the host's other goroutines in (a gateway's,
// the collector's), which the spin holds up that long at most. A yield
// costs a few hundred nanoseconds, and an event that comes during one
// waits for its end: with a microsecond of looks, a spin in a quick
// exchange yielded about once and saw a quarter to a third of its events
// just after a yield; with two, one spin in four yields, and one event in
// fourteen comes just after a yield (docs/BENCHMARKS.md, "Fewer yields
// in a spin").
const spinLooks = 8192

// sharedSpinLooks is spinLooks while more guests are awake than there are
// processors: about a microsecond of looks, so that a guest waiting for
// the processor the spin holds waits that long at most, while the spin
// spends most of its time looking rather than in the scheduler (64 looks,
// 17 ns, had it yield about ten times as long as it looked).
const sharedSpinLooks = 4096
