package host

import (
	"context"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
)

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
