package split

import (
	"math"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/host"
)

// A call's timeout comes from its caller's process, or a peer that
// pretends to be one: one too long to add to the clock is taken as the
// longest budget, not wrapped around into a deadline long past.
func TestACallsDeadlineFromAnAbsurdTimeoutIsTheLongestBudget(t *testing.T) {
	now := time.Now().UnixNano()
	for _, timeout := range []int64{math.MaxInt64, math.MaxInt64 - now + 1, int64(200 * 365 * 24 * time.Hour)} {
		if got, want := callDeadline(now, timeout, 0), now+int64(host.MaxScaledTimeout); got != want {
			t.Errorf("timeout %d: deadline %d, want %d (now plus %s)", timeout, got, want, host.MaxScaledTimeout)
		}
	}
	if got, want := callDeadline(now, int64(time.Second), now-int64(300*time.Millisecond)), now+int64(700*time.Millisecond); got != want {
		t.Errorf("a call sent 300ms ago with 1s: deadline %d, want %d", got, want)
	}
}
