package split

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/native"
	"parigot.dev/parigot/runtime/internal/route"
	"parigot.dev/parigot/runtime/internal/routetest"
)

// callKept makes a native call of echo through caller with ctx, and
// returns the call as the replica's service k has it, and the call's
// end.
func callKept(t *testing.T, caller *Network, k *routetest.Holding, ctx context.Context) (route.Abandoner, <-chan error) {
	t.Helper()
	nc := native.NewCaller("ticker")
	ended := make(chan error, 1)
	go func() {
		_, err := nc.Call(ctx, caller.Service("test.Echo"), "test.Echo/Echo", []byte("x"))
		ended <- err
	}()
	var c routetest.Held
	select {
	case c = <-k.Got:
	case <-time.After(patience):
		t.Fatal("the call never reached the replica")
	}
	a, ok := c.From.(route.Abandoner)
	if !ok || !c.Ev.Abandonable {
		t.Fatalf("a direct call cannot be given up: from %T, abandonable %v", c.From, c.Ev.Abandonable)
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
			k := routetest.NewHolding("echo", time.Minute, 1)
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
	k := routetest.NewHolding("echo", time.Minute, 1)
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

// A service in a process of its own, behind a method that holds it,
// does not run the calls that a native caller (a gateway) gave up over
// its direct connection meanwhile, on this machine and from another: it
// runs the live call after them, and only that one.
func TestAServiceInAnotherProcessDoesNotRunTheCallsGivenUp(t *testing.T) {
	for _, c := range []struct{ name, directHost, machine string }{
		{"over a Unix socket", "", ""},
		{"over TCP from another machine", "127.0.0.1", "machine-b"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Dir(testGuests(t, 1)[0].Wasm)
			guests := []*host.GuestSpec{
				{Name: "back", Kind: host.Service, Wasm: filepath.Join(dir, "chain.wasm"), Implements: []string{"test.Back"},
					MethodTimeout: time.Minute, Replicas: 1, Env: []string{"CHAIN_SERVE=test.Back"}},
				{Name: "ticker", Kind: host.Program, Requires: []string{"back"}, Replicas: 1},
			}
			srv, ctx, out := startChild(t, guests, "back", c.directHost)
			caller := NewNetwork(connectAs(t, srv, "ticker"), "test", guests, "ticker")
			if c.machine != "" {
				onMachine(caller, c.machine)
			}
			t.Cleanup(func() { caller.Close() })
			if err := caller.WaitReady(ctx, []string{"back"}, patience, nil); err != nil {
				t.Fatal(err)
			}
			if known(caller, "back") != 1 {
				t.Fatal("the caller has no direct connection to back")
			}
			back := caller.Service("test.Back")
			nc := native.NewCaller("ticker")
			call := callBack(nc, back)
			// Busy holds the service for half a second; the calls after it
			// wait, on the one connection, then in its inbox.
			busy := make(chan error, 1)
			go func() {
				_, err := call(ctx, "Busy", "busy")
				busy <- err
			}()
			waitFor(t, "Busy to be sent", func() bool { return caller.client.sent.Load() == 1 })
			// Each is sent, then given up at once: its ctx has ended, as a
			// gateway's request's does when its client hangs up.
			gone, giveUp := context.WithCancel(ctx)
			giveUp()
			for i := range 5 {
				if _, err := call(gone, "Relay", "abandoned"); !errors.Is(err, context.Canceled) {
					t.Fatalf("given-up call %d: %v, want context canceled", i, err)
				}
			}
			if got, err := call(ctx, "Relay", "live"); err != nil || got != "live" {
				t.Fatalf("the live call: %q, %v; want its echo\n%s", got, err, out.String())
			}
			if err := <-busy; err != nil {
				t.Fatal(err)
			}
			if got, err := call(ctx, "Count", ""); err != nil || got != "relayed 1" {
				t.Errorf("the service says %q (%v), want \"relayed 1\": it ran given-up calls", got, err)
			}
		})
	}
}

// callBack calls methods of the test.Back service at back, as nc, with a
// string and for a string: an error for a reply that is no success.
func callBack(nc *native.Caller, back route.Endpoint) func(ctx context.Context, method, s string) (string, error) {
	return func(ctx context.Context, method, s string) (string, error) {
		req, _ := proto.Marshal(wrapperspb.String(s))
		ev, err := nc.Call(ctx, back, "test.Back/"+method, req)
		if err != nil {
			return "", err
		}
		if ev.Code != abi.CodeOK {
			return "", fmt.Errorf("%v: %s", ev.Code, abi.ErrorMessage(ev.Payload))
		}
		var r wrapperspb.StringValue
		proto.Unmarshal(ev.Payload, &r)
		return r.GetValue(), nil
	}
}
