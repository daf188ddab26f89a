package host

import (
	"context"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// A guest that parks a moment after a push looked for it, and one that
// is pushed to a moment after it parked, must both wake: every event
// here reaches a guest that parks before each one (its caller is no
// guest, so it never spins), one push at a time, so that thousands of
// pushes meet the poll at every point of its way to parking.
func TestEveryPushWakesAGuestWhereverItIsOnItsWayToParking(t *testing.T) {
	in := newInstance(&run{}, &GuestSpec{Name: "svc", Kind: Service, MethodTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const pushes = 20000
	taken := make(chan uint64) // unbuffered: each push meets the guest on its way back to its poll
	go func() {
		for {
			ev, ok, shutdown := in.next(ctx, -1)
			if shutdown || !ok {
				return
			}
			in.pop()
			select {
			case taken <- ev.CallID:
			case <-ctx.Done():
				return
			}
		}
	}()
	for i := range pushes {
		if r := in.Deliver(abi.Event{Kind: abi.KindCall, CallID: uint64(i), Method: "test.Echo/Echo"}, nil); r != route.Accepted {
			t.Fatalf("push %d refused: %v", i, r)
		}
		select {
		case <-taken:
		case <-time.After(time.Minute): // a lost wake-up: nothing else would ever wake the guest
			t.Fatalf("push %d of %d never reached the parked guest", i+1, pushes)
		}
	}
}

// Calls held back for a reload are nothing a poll can take: a poll with
// only those waiting waits (here, until its timeout), without taking them
// and without going round in circles; once the hold ends, they are there.
func TestHeldCallsLeaveThePollWaitingAndStayQueued(t *testing.T) {
	in := newInstance(&run{}, &GuestSpec{Name: "svc", Kind: Service, MethodTimeout: time.Minute})
	in.hold.Store(true)
	if r := in.Deliver(abi.Event{Kind: abi.KindCall, CallID: 7, Method: "test.Echo/Echo"}, nil); r != route.Accepted {
		t.Fatalf("push refused: %v", r)
	}
	polled := make(chan bool)
	go func() {
		_, ok, _ := in.next(context.Background(), 20*time.Millisecond)
		polled <- ok
	}()
	select {
	case ok := <-polled:
		if ok {
			t.Fatal("the poll took a held call")
		}
	case <-time.After(time.Minute):
		t.Fatal("a poll with only held calls waiting never returned at its timeout")
	}
	in.hold.Store(false)
	ev, ok, _ := in.next(context.Background(), 0)
	if !ok || ev.Kind != abi.KindCall || ev.Method != "test.Echo/Echo" {
		t.Fatalf("after the hold: %+v, %v; want the held call", ev, ok)
	}
}

// A call's deadline ends it even when a call with a later deadline went
// out before it: the caller's poll hands over "deadline exceeded" for the
// short one, and the long one stays in flight.
func TestAnEarlierDeadlineDispatchedLaterStillEndsItsCall(t *testing.T) {
	r := &run{}
	slow := newInstance(r, &GuestSpec{Name: "slow", Kind: Service, MethodTimeout: time.Hour})
	quick := newInstance(r, &GuestSpec{Name: "quick", Kind: Service, MethodTimeout: time.Millisecond})
	caller := newInstance(r, &GuestSpec{Name: "prog", Kind: Program})
	first := caller.dispatch(slow, "test.Slow/Wait", nil, 0)
	second := caller.dispatch(quick, "test.Quick/Wait", nil, 0)
	ev, ok, _ := caller.next(context.Background(), time.Minute)
	if !ok || ev.CallID != second || ev.Code != abi.CodeDeadlineExceeded {
		t.Fatalf("got %+v, %v; want call %d with deadline exceeded", ev, ok, second)
	}
	caller.pop()
	if _, ok := caller.pending[first]; !ok || len(caller.pending) != 1 {
		t.Fatalf("in flight after the quick call's deadline: %v; want only call %d", caller.pending, first)
	}
	// After the expiry, a third call with a short deadline ends the same way.
	third := caller.dispatch(quick, "test.Quick/Wait", nil, 0)
	ev, ok, _ = caller.next(context.Background(), time.Minute)
	if !ok || ev.CallID != third || ev.Code != abi.CodeDeadlineExceeded {
		t.Fatalf("third call: %+v, %v; want call %d with deadline exceeded", ev, ok, third)
	}
}
