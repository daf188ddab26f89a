package split

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// stalledService is a replica whose guest cannot take a call soon (stuck
// in a method past its budget, say), as the host's endpoint says so: it
// refuses a call that can go to another replica, and takes the others,
// answering them with its name.
type stalledService struct {
	name    string
	refused atomic.Int64 // movable calls refused
	taken   atomic.Int64 // calls taken
}

func (s *stalledService) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	if m, ok := from.(route.Mover); ok && m.Movable() {
		s.refused.Add(1)
		return route.Stalled
	}
	s.taken.Add(1)
	from.Deliver(abi.Event{Kind: abi.KindReply, CallID: ev.CallID, Payload: append([]byte(s.name+":"), ev.Payload...)}, nil)
	return route.Accepted
}
func (s *stalledService) GuestName() string            { return "echo" }
func (s *stalledService) MethodTimeout() time.Duration { return time.Second }

// twoReplicas serves echo from a and b on srv, and returns a caller that
// knows both directly.
func twoReplicas(t *testing.T, srv *Server, a, b route.Endpoint) *Network {
	t.Helper()
	for _, r := range []route.Endpoint{a, b} {
		serveOn(t, NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo"), r)
	}
	caller := callerAs(t, srv, "ticker")
	waitFor(t, "the caller to know both replicas", func() bool { return known(caller, "echo") == 2 })
	return caller
}

// answers makes n calls of echo through caller, one after the other, and
// returns who answered each, failing on a call that failed or that
// completed twice.
func answers(t *testing.T, caller *Network, n int) map[string]int {
	t.Helper()
	got := make(replies, 2)
	who := map[string]int{}
	for i := range uint64(n) {
		caller.Service("test.Echo").Deliver(call(i, "x"), got)
		ev := got.next(t)
		if ev.CallID != i || ev.Code != abi.CodeOK {
			t.Fatalf("call %d: %v %s", i, ev.Code, abi.ErrorMessage(ev.Payload))
		}
		name, _, _ := strings.Cut(string(ev.Payload), ":")
		who[name]++
	}
	select {
	case ev := <-got:
		t.Fatalf("a call completed twice: call %d, %q", ev.CallID, ev.Payload)
	case <-time.After(20 * time.Millisecond):
	}
	if n := caller.client.kept.Load(); n != 0 {
		t.Errorf("%d bytes still kept to move calls that have all completed", n)
	}
	return who
}

// A replica that cannot take a call soon hands it back untaken, and the
// caller sends it to the other replica: every call is answered, once, by
// the replica that can take it, and the stalled one runs none of them.
func TestACallAReplicaCannotTakeGoesToAnother(t *testing.T) {
	srv := startIdentityServer(t)
	stuck := &stalledService{name: "stuck"}
	caller := twoReplicas(t, srv, stuck, &fakeService{name: "ready"})
	if who := answers(t, caller, 20); who["ready"] != 20 {
		t.Errorf("calls answered by %v, want all 20 by the replica that was not stuck", who)
	}
	if stuck.taken.Load() != 0 {
		t.Errorf("the stuck replica took %d calls that the other replica could have", stuck.taken.Load())
	}
	if stuck.refused.Load() == 0 || caller.client.moved.Load() != stuck.refused.Load() {
		t.Errorf("the stuck replica handed back %d calls, the caller sent %d again; want at least one, each sent again", stuck.refused.Load(), caller.client.moved.Load())
	}
}

// When every replica cannot take a call soon, the last one it is sent to
// takes it as the only replica of a service would (it waits for it), so
// that nothing is refused only for there being several replicas.
func TestTheLastReplicaLeftTakesTheCall(t *testing.T) {
	srv := startIdentityServer(t)
	a, b := &stalledService{name: "a"}, &stalledService{name: "b"}
	caller := twoReplicas(t, srv, a, b)
	who := answers(t, caller, 10)
	if who["a"]+who["b"] != 10 || a.taken.Load()+b.taken.Load() != 10 {
		t.Errorf("calls answered by %v (a took %d, b %d), want each of 10 by one", who, a.taken.Load(), b.taken.Load())
	}
	if n := a.refused.Load() + b.refused.Load(); n != 10 {
		t.Errorf("%d calls handed back, want each of the 10 once, by the first replica it was sent to", n)
	}
}

// A call to the only replica a caller knows cannot go elsewhere: it goes
// as before, not movable, and the replica takes it however stuck it is.
func TestACallToTheOnlyReplicaKnownIsNotMovable(t *testing.T) {
	srv := startIdentityServer(t)
	only := &stalledService{name: "only"}
	serveOn(t, NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo"), only)
	caller := callerAs(t, srv, "ticker")
	if who := answers(t, caller, 5); who["only"] != 5 || only.refused.Load() != 0 {
		t.Errorf("calls answered by %v, %d handed back; want all 5 taken by the one replica", who, only.refused.Load())
	}
	if caller.client.sent.Load() != 5 {
		t.Errorf("%d calls went over the direct connection, want 5", caller.client.sent.Load())
	}
}

// A replica may hand back only a call that could go elsewhere: one that
// hands back a call to the only replica its caller knows is a broken
// peer, and the call completes once, with internal, not sent again.
func TestACallHandedBackThatWasNotMovableFailsOnce(t *testing.T) {
	caller := callerOfAFakeReplica(t, func(ln net.Listener) {
		c, r, w, ok := welcomeOne(ln)
		if !ok {
			return
		}
		defer c.Close()
		for {
			kind, body, err := readFrame(r)
			if err != nil || kind != frameCall {
				return
			}
			f := frameReader{b: body}
			w.untaken(f.u64())
		}
	})
	got := make(replies, 2)
	caller.Service("test.Echo").Deliver(call(1, "a"), got)
	if ev := got.next(t); ev.CallID != 1 || ev.Code != abi.CodeInternal {
		t.Errorf("the call completed with %v (%s), want internal", ev.Code, abi.ErrorMessage(ev.Payload))
	}
	select {
	case ev := <-got:
		t.Errorf("the call completed twice: %v (%s)", ev.Code, abi.ErrorMessage(ev.Payload))
	case <-time.After(50 * time.Millisecond):
	}
	if n := caller.client.moved.Load(); n != 0 {
		t.Errorf("%d calls sent again, want none", n)
	}
}
