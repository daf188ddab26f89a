package host

import (
	"testing"
	"time"
)

// offWall is how far unixNano is from the wall clock now. The two clocks
// behind it are read one after the other, so it may be off by the time
// between the reads: nanoseconds, far below the bound the tests allow.
func offWall() time.Duration {
	got := unixNano()
	return time.Duration(got - time.Now().UnixNano()).Abs()
}

// unixNano is what deadlines are made of and compared with, here and in
// guests and other processes (with their wall clocks): it must read as
// the wall clock does.
func TestUnixNanoReadsAsTheWallClock(t *testing.T) {
	if off := offWall(); off > time.Millisecond {
		t.Fatalf("unixNano is %s off the wall clock", off)
	}
}

// A wall clock set while the host runs (by hand, or stepped by NTP) moves
// the monotonic clock not at all: syncClock, which the watchdog calls at
// each look, brings unixNano back in step with it.
func TestSyncClockFollowsAWallClockThatWasSet(t *testing.T) {
	t.Cleanup(syncClock)
	clockWall.Add(int64(time.Hour)) // as if the wall clock had been set back an hour since the last sync
	if off := offWall(); off < 59*time.Minute {
		t.Fatalf("the test's premise: unixNano is %s off the wall clock, not an hour", off)
	}
	syncClock()
	if off := offWall(); off > time.Millisecond {
		t.Fatalf("after syncClock, unixNano is %s off the wall clock", off)
	}
}
