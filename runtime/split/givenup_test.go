package split

import (
	"context"
	"errors"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/native"
	"parigot.dev/parigot/runtime/internal/route"
)

// keeper is a service that takes every call and never answers: each
// arrives on got with where its reply goes.
type keeper struct{ got chan kept }

type kept struct {
	ev   abi.Event
	from route.Endpoint
}

func (k *keeper) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	k.got <- kept{ev, from}
	return route.Accepted
}
func (k *keeper) GuestName() string            { return "echo" }
func (k *keeper) MethodTimeout() time.Duration { return time.Minute }

// callKept makes a native call of echo through caller with ctx, and
// returns the call as the replica's service k has it, and the call's
// end.
func callKept(t *testing.T, caller *Network, k *keeper, ctx context.Context) (route.Abandoner, <-chan error) {
	t.Helper()
	nc := native.NewCaller("ticker")
	ended := make(chan error, 1)
	go func() {
		_, err := nc.Call(ctx, caller.Service("test.Echo"), "test.Echo/Echo", []byte("x"))
		ended <- err
	}()
	var c kept
	select {
	case c = <-k.got:
	case <-time.After(patience):
		t.Fatal("the call never reached the replica")
	}
	a, ok := c.from.(route.Abandoner)
	if !ok || !c.ev.Abandonable {
		t.Fatalf("a direct call cannot be given up: from %T, abandonable %v", c.from, c.ev.Abandonable)
	}
	return a, ended
}

// A caller that gives up a call it sent over a direct connection (a
// gateway's client hung up) says so on the connection, so that the
// replica drops it unrun: on this machine and from another.
func TestACallGivenUpOverADirectConnectionIsGivenUpOnTheReplica(t *testing.T) {
	for _, machine := range []string{"machine-a", "machine-b"} {
		t.Run("from "+machine, func(t *testing.T) {
			srv := startIdentityServer(t)
			k := &keeper{got: make(chan kept, 1)}
			replica := onMachine(NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo"), "machine-a")
			replica.directHost = "127.0.0.1"
			serveOn(t, replica, k)
			caller := callerOn(t, srv, "ticker", machine)
			if known(caller, "echo") != 1 {
				t.Fatal("the caller has no direct connection to echo")
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			a, ended := callKept(t, caller, k, ctx)
			if a.Abandoned(0) {
				t.Fatal("the call is given up while its caller waits")
			}
			cancel()
			if err := <-ended; !errors.Is(err, context.Canceled) {
				t.Fatalf("the call ended with %v, want context canceled", err)
			}
			// The host drops such a call unrun, if its guest has not taken
			// it (runtime/host's TestACallItsCallerGaveUpIsDroppedUnrun).
			waitFor(t, "the replica to learn that the call was given up", func() bool { return a.Abandoned(0) })
		})
	}
}

// A call whose deadline passes before its reply, sent over TCP to a
// replica on another machine, is given up on the replica too: a replica
// whose process was stopped (SIGSTOP) while its calls waited in the
// socket, and that then resumes, would otherwise run them, since it
// counts a call's deadline from its arrival (the caller's clock is
// another machine's). On this machine it counts from the sending.
func TestACallWhoseDeadlinePassedOverTCPIsGivenUpOnTheReplica(t *testing.T) {
	srv := startIdentityServer(t)
	k := &keeper{got: make(chan kept, 1)}
	replica := onMachine(NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo"), "machine-a")
	replica.directHost = "127.0.0.1"
	serveOn(t, replica, k)
	caller := callerOn(t, srv, "ticker", "machine-b")
	if nets := connNetworks(caller, "echo"); len(nets) != 1 || nets[0] != "tcp" {
		t.Fatalf("the caller's connections: %v, want one over TCP", nets)
	}
	// No reply within echo's budget: the caller's own deadline.
	a, ended := callKept(t, caller, k, t.Context())
	var late *native.DeadlineError
	if err := <-ended; !errors.As(err, &late) {
		t.Fatalf("the call ended with %v, want its deadline", err)
	}
	waitFor(t, "the replica to learn that the call was given up", func() bool { return a.Abandoned(0) })
}
