package split

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/internal/native"
	"parigot.dev/parigot/runtime/internal/route"
	"parigot.dev/parigot/runtime/internal/routetest"
)

// callKept makes a native call of echo through caller with ctx, and
// returns the call as the replica's service k has it, and the call's
// end.
func callKept(t *testing.T, caller *Network, k *routetest.Holding, ctx context.Context) (route.Abandoner, <-chan error) {
	t.Helper()
	nc := native.NewCaller(caller.who)
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
		t.Fatalf("the call cannot be given up: from %T, abandonable %v", c.From, c.Ev.Abandonable)
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

// A caller that gives up a call that went through the NATS server (its
// service's replica takes its calls over NATS only) says so on the
// service's given-up subject, and the replica that holds it learns it:
// that call only, not another caller's numbered alike.
func TestACallGivenUpThroughTheNATSServerIsGivenUpOnTheReplica(t *testing.T) {
	srv := startIdentityServer(t)
	k := routetest.NewHolding("echo", time.Minute, 2)
	replica := NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo")
	replica.natsOnly = true
	serveOn(t, replica, k)
	ticker, tocker := callerAs(t, srv, "ticker"), callerAs(t, srv, "tocker")
	if known(ticker, "echo") != 0 || known(tocker, "echo") != 0 {
		t.Fatal("a caller has a direct connection to a replica that takes its calls over NATS only")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	given, ended := callKept(t, ticker, k, ctx)
	// tocker's first call has the same id as ticker's.
	other, _ := callKept(t, tocker, k, t.Context())
	if given.Abandoned(0) {
		t.Fatal("the call is given up while its caller waits")
	}
	cancel()
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("the call ended with %v, want context canceled", err)
	}
	waitFor(t, "the replica to learn that the call was given up", func() bool { return given.Abandoned(0) })
	if other.Abandoned(0) {
		t.Error("another caller's call of the same id is given up too")
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
			guests := backAndTicker(t)
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

// backAndTicker is an app of the chain guest serving test.Back, with a
// method budget of a minute, and a program ticker that requires it.
func backAndTicker(t *testing.T) []*host.GuestSpec {
	dir := filepath.Dir(testGuests(t, 1)[0].Wasm)
	return []*host.GuestSpec{
		{Name: "back", Kind: host.Service, Wasm: filepath.Join(dir, "chain.wasm"), Implements: []string{"test.Back"},
			MethodTimeout: time.Minute, Replicas: 1, Env: []string{"CHAIN_SERVE=test.Back"}},
		{Name: "ticker", Kind: host.Program, Requires: []string{"back"}, Replicas: 1},
	}
}

// sentFirst is a service's endpoint that says when a call has left for
// it: published on the caller's connection, where the calls sent after
// it follow it.
type sentFirst struct {
	route.Endpoint
	sent chan struct{}
}

func (s sentFirst) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	defer close(s.sent)
	return s.Endpoint.Deliver(ev, from)
}

// giveUpBehindBusy has ticker, over caller, hold back's one replica with
// Busy, send it calls that it gives up at once (their ctx has ended, as a
// gateway's request's does when its client hangs up) and then a live
// call; it returns what back then says it relayed. Every call but those
// given up must succeed.
func giveUpBehindBusy(t *testing.T, ctx context.Context, caller *Network, givenUp int, out fmt.Stringer) string {
	t.Helper()
	back := caller.Service("test.Back")
	nc := native.NewCaller("ticker")
	call := callBack(nc, back)
	first := sentFirst{back, make(chan struct{})}
	busy := make(chan error, 1)
	go func() {
		_, err := callBack(nc, first)(ctx, "Busy", "busy")
		busy <- err
	}()
	<-first.sent
	gone, giveUp := context.WithCancel(ctx)
	giveUp()
	for i := range givenUp {
		if _, err := call(gone, "Relay", "abandoned"); !errors.Is(err, context.Canceled) {
			t.Fatalf("given-up call %d: %v, want context canceled", i, err)
		}
	}
	if got, err := call(ctx, "Relay", "live"); err != nil || got != "live" {
		t.Fatalf("the live call: %q, %v; want its echo\n%s", got, err, out)
	}
	if err := <-busy; err != nil {
		t.Fatal(err)
	}
	got, err := call(ctx, "Count", "")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// A service whose replica takes its calls through the NATS server (a
// queue group, another machine without --direct-host, a replica of
// another direct-protocol version), behind a method that holds it, does
// not run the calls that a caller gave up meanwhile: they are dropped
// unrun, counted in parigot_calls_dropped_total as given up, and the
// others run, once each.
func TestAReplicaOverNATSDoesNotRunTheCallsGivenUp(t *testing.T) {
	guests := backAndTicker(t)
	srv, err := StartServer("test", guests)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	_, metrics, out := startNATSOnlyChild(t, srv.Conn("back"), guests, "back")
	caller := NewNetwork(connectAs(t, srv, "ticker"), "test", guests, "ticker")
	t.Cleanup(func() { caller.Close() })
	if err := caller.WaitReady(t.Context(), []string{"back"}, patience, nil); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if known(caller, "back") != 0 {
		t.Fatal("the caller has a direct connection to a replica that takes its calls over NATS only")
	}
	const givenUp = 5
	if got := giveUpBehindBusy(t, t.Context(), caller, givenUp, out); got != "relayed 1" {
		t.Errorf("the service says %q, want \"relayed 1\": it ran given-up calls", got)
	}
	want := fmt.Sprintf(`parigot_calls_dropped_total{guest="back",reason="given up"} %d`, givenUp)
	if got := scrape(t, metrics, "parigot_calls_dropped_total"); !strings.Contains(got, want) {
		t.Errorf("/metrics says\n%s\nwant %s", got, want)
	}
}

// An operator's NATS server configured for an earlier parigot, whose
// users may not publish or subscribe to the given-up subjects, still
// carries every call: the calls given up run, as they did then, and each
// process says once what its user lacks.
func TestCallsGivenUpRunOnAServerWithoutTheGivenUpSubjects(t *testing.T) {
	guests := backAndTicker(t)
	seeds, _, err := MakeSeeds(t.TempDir(), []string{"back", "ticker"})
	if err != nil {
		t.Fatal(err)
	}
	conf, err := AuthorizationConfig("test", guests, seeds)
	if err != nil {
		t.Fatal(err)
	}
	earlier := conf
	for _, s := range []string{`"parigot.test.given.back.*", `, `, "parigot.test.given.back.ticker"`} {
		if !strings.Contains(earlier, s) {
			t.Fatalf("the printed configuration has no %s\n%s", s, conf)
		}
		earlier = strings.Replace(earlier, s, "", 1)
	}
	ns := startConfiguredServer(t, earlier)
	_, _, out := startNATSOnlyChild(t, Conn{URL: ns.ClientURL(), Seed: seeds["back"]}, guests, "back")
	nc, err := Conn{URL: ns.ClientURL(), Seed: seeds["ticker"]}.Connect("test", "ticker")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	caller := NewNetwork(nc, "test", guests, "ticker")
	var said lines.Buffer
	caller.warn = &said
	t.Cleanup(func() { caller.Close() })
	if err := caller.WaitReady(t.Context(), []string{"back"}, patience, nil); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	const givenUp = 3
	for round := range 2 {
		if got, want := giveUpBehindBusy(t, t.Context(), caller, givenUp, out), fmt.Sprintf("relayed %d", (round+1)*(givenUp+1)); got != want {
			t.Errorf("round %d: the service says %q, want %q: every call runs", round, got, want)
		}
		waitFor(t, "the caller to say that it may not give up calls", func() bool { return said.String() != "" })
	}
	wantCaller := `parigot: ticker: the NATS server refused to let it publish to "parigot.test.given.back.ticker": calls it gives up that went through the NATS server still run on their services; give its NATS user the permissions ` + "`parigot nats-config`" + ` prints for it` + "\n"
	if got := said.String(); got != wantCaller {
		t.Errorf("the caller says\n%s\nwant, once,\n%s", got, wantCaller)
	}
	wantService := `the NATS server refused to let it subscribe to "parigot.test.given.back.*"`
	if got := strings.Count(out.String(), wantService); got != 1 {
		t.Errorf("the service says %d times %q, want once:\n%s", got, wantService, out.String())
	}
	if refusal := caller.Refused(); len(refusal) != 0 {
		t.Errorf("the caller was refused what calls need: %v", <-refusal)
	}
}
