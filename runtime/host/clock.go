package host

import (
	"sync/atomic"
	"time"
)

// The host reads the time on every call, several times (a deadline, a
// stamp for the overrun watch, a look for expired calls). time.Now reads
// two clocks, the wall clock and the monotonic one, and costs twice what
// a read of the monotonic clock alone does (43 against 23 ns on the
// development machine; docs/BENCHMARKS.md, "The host's clock"). unixNano
// reads only the monotonic clock and adds the wall time it stood for when
// the two were last read together, so that its values are Unix
// nanoseconds, as deadlines are where they leave this process (an event's
// deadline, which guests and other processes compare with their own wall
// clock).
var (
	clockStart = time.Now()
	// clockWall is the Unix time, in nanoseconds, at clockStart's
	// monotonic reading, as of the last syncClock.
	clockWall atomic.Int64
)

func init() { syncClock() }

// unixNano is the time now, in Unix nanoseconds.
func unixNano() int64 { return clockWall.Load() + int64(time.Since(clockStart)) }

// syncClock reads both clocks again, so that unixNano follows a wall
// clock that was set (or stepped by NTP) since: the watchdog calls it at
// each of its looks, so unixNano is never more than watchInterval behind
// such a change.
func syncClock() {
	now := time.Now()
	clockWall.Store(now.UnixNano() - int64(now.Sub(clockStart)))
}
