package host

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// movingEnd is the caller's end of a call that can go to another replica
// (route.Mover) when movable is set: it counts the times the call was
// handed back, and keeps what else it is given.
type movingEnd struct {
	farEnd
	movable bool
	moved   atomic.Int64
}

func (m *movingEnd) Movable() bool { return m.movable }
func (m *movingEnd) Moved()        { m.moved.Add(1) }

func TestACallThatCanGoElsewhereIsNotQueuedBehindAStalledGuest(t *testing.T) {
	const budget = 50 * time.Millisecond
	call := abi.Event{Kind: abi.KindCall, CallID: 1, Method: "test.Echo/Echo"}
	for _, c := range []struct {
		name string
		up   bool
		busy time.Duration // how long the guest has been in its method; 0: it polls
		want route.Refusal // for a movable call
	}{
		{"a guest that polls takes it", true, 0, route.Accepted},
		{"a guest in a method within its budget takes it", true, budget / 2, route.Accepted},
		{"a guest in a method past its budget refuses it", true, 2 * budget, route.Stalled},
		{"a guest not ready since it started again refuses it", false, 0, route.Stalled},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := newInstance(&run{}, &GuestSpec{Name: "svc", Kind: Service, MethodTimeout: budget})
			in.up.Store(c.up)
			if c.busy > 0 {
				in.busySince.Store(unixNano() - int64(c.busy))
			}
			if r := in.Deliver(call, &movingEnd{movable: true}); r != c.want {
				t.Errorf("a movable call: %v, want %v", r, c.want)
			}
			// A call that cannot go elsewhere is queued, as it always was.
			for _, from := range []route.Endpoint{&farEnd{}, &movingEnd{}} {
				if r := in.Deliver(call, from); r != route.Accepted {
					t.Errorf("a call that cannot go elsewhere (%T): %v, want accepted", from, r)
				}
			}
		})
	}
}

// Calls queued before their guest went past its budget are handed back
// once it has, untaken, when they can go elsewhere; the others wait for
// the guest as before.
func TestQueuedCallsThatCanGoElsewhereAreHandedBackOnceTheGuestStalls(t *testing.T) {
	const budget = 50 * time.Millisecond
	in := newInstance(&run{}, &GuestSpec{Name: "svc", Kind: Service, MethodTimeout: budget})
	in.up.Store(true)
	in.busySince.Store(unixNano()) // in a method, within its budget
	movable, stays := &movingEnd{movable: true}, &farEnd{}
	for i, from := range []route.Endpoint{movable, stays, movable} {
		if r := in.Deliver(abi.Event{Kind: abi.KindCall, CallID: uint64(i), Method: "test.Echo/Echo", Payload: []byte("xy")}, from); r != route.Accepted {
			t.Fatalf("call %d: %v", i, r)
		}
	}
	in.shed(unixNano())
	if n := in.waitingCalls.Load(); n != 3 {
		t.Fatalf("%d calls wait after a look within the budget, want 3", n)
	}
	in.shed(unixNano() + int64(2*budget)) // past it
	waitUntil(t, func() bool { return movable.moved.Load() == 2 })
	if n, b := in.waitingCalls.Load(), in.waitingBytes.Load(); n != 1 || b != 2 {
		t.Errorf("%d calls (%d bytes) wait, want the one that cannot go elsewhere (2 bytes)", n, b)
	}
	if len(in.queue) != 1 || in.queue[0].from != stays {
		t.Errorf("the inbox holds %d calls, want the one that cannot go elsewhere", len(in.queue))
	}
}

// A guest that ends hands back the calls it never took that can go
// elsewhere, and fails the others with unavailable, as before.
func TestAnEndingGuestHandsBackTheCallsThatCanGoElsewhere(t *testing.T) {
	in := newInstance(&run{}, &GuestSpec{Name: "svc", Kind: Service, MethodTimeout: time.Second})
	in.up.Store(true)
	movable, stays := &movingEnd{movable: true}, &farEnd{}
	in.Deliver(abi.Event{Kind: abi.KindCall, CallID: 1, Method: "test.Echo/Echo"}, movable)
	in.Deliver(abi.Event{Kind: abi.KindCall, CallID: 2, Method: "test.Echo/Echo"}, stays)
	in.close("service svc panicked")
	if movable.moved.Load() != 1 || len(movable.got) != 0 {
		t.Errorf("the movable call was handed back %d times and answered %d times, want handed back once", movable.moved.Load(), len(movable.got))
	}
	if len(stays.got) != 1 || stays.got[0].Code != abi.CodeUnavailable {
		t.Errorf("the other call got %v, want unavailable", stays.got)
	}
	if r := in.Deliver(abi.Event{Kind: abi.KindCall, CallID: 3}, movable); r != route.Ended {
		t.Errorf("a call after the end: %v, want ended", r)
	}
}

// A call drained from the inbox together with one the guest took, and
// left waiting behind it (the method then never returned), never reached
// its method: a guest that ends hands it back when it can go elsewhere,
// as it does the calls still in its inbox. One the guest took is not
// handed back: it ran, and another replica would run it again.
func TestAnEndingGuestHandsBackTheCallsItDrainedButNeverTook(t *testing.T) {
	in := newInstance(&run{}, &GuestSpec{Name: "svc", Kind: Service, MethodTimeout: time.Second})
	in.up.Store(true)
	took, waited, stays := &movingEnd{movable: true}, &movingEnd{movable: true}, &farEnd{}
	for i, from := range []route.Endpoint{took, waited, stays} {
		if r := in.Deliver(abi.Event{Kind: abi.KindCall, CallID: uint64(i), Method: "test.Echo/Echo"}, from); r != route.Accepted {
			t.Fatalf("call %d: %v", i, r)
		}
	}
	in.drain()
	in.pop() // the guest takes the first, and runs it
	in.close("service svc was stopped: method test.Echo/Spin ran over its budget")
	if took.moved.Load() != 0 || len(took.got) != 1 || took.got[0].Code != abi.CodeUnavailable {
		t.Errorf("the call the guest took was handed back %d times and got %v, want unavailable", took.moved.Load(), took.got)
	}
	if waited.moved.Load() != 1 || len(waited.got) != 0 {
		t.Errorf("the movable call drained but not taken was handed back %d times and got %v, want handed back once", waited.moved.Load(), waited.got)
	}
	if len(stays.got) != 1 || stays.got[0].Code != abi.CodeUnavailable || !strings.HasSuffix(abi.ErrorMessage(stays.got[0].Payload), route.NotTaken) {
		t.Errorf("the call that cannot go elsewhere got %v, want unavailable, saying the method never took it", stays.got)
	}
}

// waitUntil waits for cond, for up to a minute.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("it never happened")
		}
	}
}
