package host

import (
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
	// 64 events a run: the old way allocated once every few events, which
	// testing.AllocsPerRun, rounding down to whole allocations a run,
	// would not see with one.
	allocs := testing.AllocsPerRun(100, func() {
		for range 64 {
			q.pop()
			q.push(abi.Event{CallID: 1})
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations for 64 events with 8 waiting, want none", allocs)
	}
}
