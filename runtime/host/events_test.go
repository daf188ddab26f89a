package host

import (
	"runtime"
	"testing"

	"parigot.dev/parigot/runtime/internal/abi"
)

// The queue hands events out in the order they came, however pushes and
// pops interleave (the array is compacted as it fills).
func TestEventsKeepTheirOrder(t *testing.T) {
	var q events
	next, want := uint64(0), uint64(0)
	for round := range 200 {
		for range round%7 + 1 {
			next++
			q.push(abi.Event{CallID: next})
		}
		for range round%5 + 1 {
			if q.len() == 0 {
				break
			}
			want++
			if got := q.front().CallID; got != want {
				t.Fatalf("round %d: front is call %d, want %d", round, got, want)
			}
			q.pop()
		}
	}
	for q.len() > 0 {
		want++
		if got := q.front().CallID; got != want {
			t.Fatalf("front is call %d, want %d", got, want)
		}
		q.pop()
	}
	if want != next {
		t.Errorf("%d events came out of %d pushed", want, next)
	}
}

// A guest with several events waiting, taking one as another comes, makes
// the queue allocate nothing once it has grown.
func TestEventsReuseTheirArray(t *testing.T) {
	var q events
	for i := range 8 {
		q.push(abi.Event{CallID: uint64(i)})
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10000 {
		q.pop()
		q.push(abi.Event{CallID: 1})
	}
	runtime.ReadMemStats(&after)
	// (testing.AllocsPerRun rounds down: one allocation every few events
	// would read as none.)
	if n := after.Mallocs - before.Mallocs; n > 10 {
		t.Errorf("%d allocations for 10000 events with 8 waiting, want none", n)
	}
}
