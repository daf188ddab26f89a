package host

import (
	"testing"
	"time"
)

// unixNano is what deadlines are made of and compared with, here and in
// guests and other processes (with their wall clocks): it must read as
// the wall clock does.
func TestUnixNanoReadsAsTheWallClock(t *testing.T) {
	before := time.Now().UnixNano()
	got := unixNano()
	after := time.Now().UnixNano()
	if got < before || got > after {
		t.Fatalf("unixNano() = %d, not between two wall clock reads around it (%d, %d)", got, before, after)
	}
}

// A wall clock set while the host runs (by hand, or stepped by NTP) moves
// the monotonic clock not at all: syncClock, which the watchdog calls at
// each look, brings unixNano back in step with it.
func TestSyncClockFollowsAWallClockThatWasSet(t *testing.T) {
	t.Cleanup(syncClock)
	clockWall.Add(int64(time.Hour)) // as if the wall clock had been set back an hour since the last sync
	if off := time.Duration(unixNano() - time.Now().UnixNano()); off < 59*time.Minute {
		t.Fatalf("the test's premise: unixNano is %s off the wall clock, not an hour", off)
	}
	syncClock()
	before := time.Now().UnixNano()
	got := unixNano()
	after := time.Now().UnixNano()
	if got < before || got > after {
		t.Fatalf("after syncClock, unixNano() = %d, not between two wall clock reads around it (%d, %d)", got, before, after)
	}
}
