package host

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/internal/native"
	"parigot.dev/parigot/runtime/internal/route"
)

// fakeRemote hands the test the local service, as a split-mode network would
// receive calls for it from other processes.
type fakeRemote struct {
	local   chan route.Endpoint
	ready   chan struct{}
	stopped atomic.Bool
}

func (r *fakeRemote) Service(string) route.Endpoint { return nil }
func (r *fakeRemote) Serve(_ string, _ []string, l route.Endpoint) error {
	r.local <- l
	return nil
}
func (r *fakeRemote) Ready(string) error {
	close(r.ready)
	return nil
}
func (r *fakeRemote) StopServing() { r.stopped.Store(true) }

// farCaller is a caller in another process: it records the reply.
type farCaller struct{ replies chan abi.Event }

func (c *farCaller) Deliver(ev abi.Event, _ route.Endpoint) route.Refusal {
	c.replies <- ev
	return route.Accepted
}
func (c *farCaller) GuestName() string            { return "far" }
func (c *farCaller) MethodTimeout() time.Duration { return 0 }

func TestOnSIGTERMAServiceFinishesItsCallsBeforeItStops(t *testing.T) {
	remote := &fakeRemote{local: make(chan route.Endpoint, 1), ready: make(chan struct{})}
	echo := echoService(t)
	echo.MethodTimeout = 5 * time.Second
	echo.Overrun = OverrunStop // interruptible: stopping it would cut the call short
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	type result struct {
		res Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		// A drain time no machine reaches: the call in flight must end with
		// its reply however slowly the machine computes it.
		res, err := Run(ctx, Config{Guests: []*GuestSpec{echo}, Stdout: &out, Stderr: &out, Remote: remote, DrainTimeout: patience})
		done <- result{res, err}
	}()
	var local route.Endpoint
	select {
	case local = <-remote.local:
	case r := <-done:
		t.Fatalf("Run ended (%v) before serving:\n%s", r.err, out.String())
	}
	caller := &farCaller{replies: make(chan abi.Event, 1)}
	select {
	case <-remote.ready:
	case r := <-done:
		t.Fatalf("Run ended (%v) before the service was ready:\n%s", r.err, out.String())
	}
	// Busy computes for 300ms; the stop comes while it runs.
	local.Deliver(abi.Event{Kind: abi.KindCall, CallID: 41, Method: "test.Echo/Busy", Payload: []byte("x")}, caller)
	time.Sleep(50 * time.Millisecond) // the guest has taken the call and is computing
	cancel()
	select {
	case ev := <-caller.replies:
		if ev.Code != abi.CodeOK || ev.CallID != 41 || string(ev.Payload) != "x" {
			t.Errorf("the call in flight ended with %v %q (id %d), want its reply", ev.Code, ev.Payload, ev.CallID)
		}
	case <-time.After(patience):
		t.Fatalf("the call in flight never completed:\n%s", out.String())
	}
	select {
	case r := <-done:
		if r.err != nil || len(r.res.Failures) != 0 {
			t.Errorf("Run: %v, failures %v", r.err, r.res.Failures)
		}
	case <-time.After(patience):
		t.Fatal("Run did not return after the drain")
	}
	if !remote.stopped.Load() {
		t.Error("the remote kept taking calls during the drain")
	}
}

// A call whose answer never comes (its future is never completed) is
// waited for up to the drain time, then the run says, in a line of its
// own, that the drain time ran out, and the call ends unavailable.
func TestACallTheDrainTimeRunsOutOnIsSaidToFail(t *testing.T) {
	remote := &fakeRemote{local: make(chan route.Endpoint, 1), ready: make(chan struct{})}
	echo := echoService(t)
	echo.MethodTimeout = time.Hour // the call is not over its budget: the drain waits for it
	out := &lines.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Config{Guests: []*GuestSpec{echo}, Stdout: out, Stderr: out, Remote: remote, DrainTimeout: 100 * time.Millisecond})
		done <- err
	}()
	local := <-remote.local
	<-remote.ready
	caller := &farCaller{replies: make(chan abi.Event, 1)}
	local.Deliver(abi.Event{Kind: abi.KindCall, CallID: 9, Method: "test.Echo/Never"}, caller)
	for giveUp := time.Now().Add(patience); local.(*instance).idle(); {
		if time.Now().After(giveUp) {
			t.Fatal("the service never took the call")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(patience):
		t.Fatalf("Run did not end after the drain time:\n%s", out.String())
	}
	if ev := <-caller.replies; ev.Code != abi.CodeUnavailable {
		t.Errorf("the call ended with %v, want unavailable", ev.Code)
	}
	if want := "parigot: the drain time ran out (100ms) with calls still in flight; they fail with unavailable\n"; !strings.Contains(out.String(), want) {
		t.Errorf("the run does not say %q:\n%s", want, out.String())
	}
}

// A service still in a method past its budget when the run stops is not
// drained: its callers have had their answer, and it answers nothing else
// until it stops. The run stops it at once (the call ends unavailable),
// not after the drain time, and says nothing of calls that ran out of it.
func TestOnSIGTERMAServicePastItsBudgetIsNotWaitedFor(t *testing.T) {
	remote := &fakeRemote{local: make(chan route.Endpoint, 1), ready: make(chan struct{})}
	echo := echoService(t) // 250ms budget; overruns are reported, and it runs on
	out := &lines.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		// A drain time no test waits out: the run must not wait for Spin.
		_, err := Run(ctx, Config{Guests: []*GuestSpec{echo}, Stdout: out, Stderr: out, Remote: remote, DrainTimeout: time.Hour})
		done <- err
	}()
	local := <-remote.local
	<-remote.ready
	caller := &farCaller{replies: make(chan abi.Event, 1)}
	local.Deliver(abi.Event{Kind: abi.KindCall, CallID: 7, Method: "test.Echo/Spin"}, caller)
	// The watchdog reports the overrun once Spin is past its budget and
	// grace; the stop comes after that.
	for giveUp := time.Now().Add(patience); !strings.Contains(out.String(), "left running"); {
		select {
		case err := <-done:
			t.Fatalf("Run ended (%v) before the overrun:\n%s", err, out.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(giveUp) {
			t.Fatalf("the overrun of Spin was never reported:\n%s", out.String())
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(patience):
		t.Fatalf("Run waited out the drain for a method past its budget:\n%s", out.String())
	}
	if ev := <-caller.replies; ev.Code != abi.CodeUnavailable {
		t.Errorf("the call in the spinning method ended with %v, want unavailable", ev.Code)
	}
	if strings.Contains(out.String(), "drain time ran out") {
		t.Errorf("the run says calls ran out of the drain time:\n%s", out.String())
	}
}

// refusingRemote is a Remote that cannot announce readiness, as a split
// child whose NATS connection refuses the subscription.
type refusingRemote struct{ fakeRemote }

func (r *refusingRemote) Ready(string) error { return errors.New("permissions violation") }

func TestAServiceWhoseReadinessCannotBeAnnouncedDoesNotStart(t *testing.T) {
	remote := &refusingRemote{fakeRemote{local: make(chan route.Endpoint, 1), ready: make(chan struct{})}}
	var out bytes.Buffer
	_, err := Run(context.Background(), Config{Guests: []*GuestSpec{echoService(t)}, Stdout: &out, Stderr: &out, Remote: remote})
	var se *StartError
	if !errors.As(err, &se) || se.Guest != "echo" || se.Problem != NotServed || !strings.Contains(err.Error(), "permissions violation") {
		t.Errorf("Run: %v, want a start error naming echo and the cause", err)
	}
}

// TestAServiceServesFromReadyUntilItStops is what the gateway's health
// service reports of a service in this host (native.Registry.Serving).
func TestAServiceServesFromReadyUntilItStops(t *testing.T) {
	remote := &fakeRemote{local: make(chan route.Endpoint, 1), ready: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Config{Guests: []*GuestSpec{echoService(t)}, Stdout: &out, Stderr: &out, Remote: remote})
		done <- err
	}()
	local := (<-remote.local).(interface{ Serving() bool })
	select {
	case <-remote.ready:
	case err := <-done:
		t.Fatalf("Run ended (%v) before the service was ready:\n%s", err, out.String())
	}
	if !local.Serving() {
		t.Error("a ready service says it does not serve")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if local.Serving() {
		t.Error("a stopped service says it serves")
	}
}

// A host without programs (what a gateway serves from) keeps serving when
// one of its services ends for good: calls to that one fail unavailable,
// the others answer, until the run is stopped.
func TestAServiceEndingForGoodLeavesTheOthersServing(t *testing.T) {
	reg := native.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	crash := &GuestSpec{Name: "crash", Kind: Service, Wasm: wasm(t, "crash"), Implements: []string{"test.Crash"}, MethodTimeout: patience}
	var out lines.Buffer
	done := make(chan Result, 1)
	go func() {
		res, err := Run(ctx, Config{Guests: []*GuestSpec{echoService(t), crash}, Stdout: &out, Stderr: &out, Remote: reg})
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
		done <- res
	}()
	if err := reg.WaitReady(ctx, []string{"echo", "crash"}, nil); err != nil {
		t.Fatal(err)
	}
	caller := native.NewCaller("test")
	call := func(service, method string) abi.Code {
		ev, err := caller.Call(ctx, reg.Service(service), service+"/"+method, nil)
		if err != nil {
			t.Fatalf("%s/%s: %v\n%s", service, method, err, out.String())
		}
		return ev.Code
	}
	if code := call("test.Crash", "Boom"); code != abi.CodeUnavailable {
		t.Errorf("Boom: %v, want unavailable", code)
	}
	if code := call("test.Echo", "Echo"); code != abi.CodeOK {
		t.Errorf("Echo after crash ended for good: %v, want ok\n%s", code, out.String())
	}
	if code := call("test.Crash", "Boom"); code != abi.CodeUnavailable {
		t.Errorf("Boom again: %v, want unavailable", code)
	}
	select {
	case res := <-done:
		t.Fatalf("the run ended with a service still serving: %+v\n%s", res, out.String())
	default:
	}
	cancel()
	if res := <-done; len(res.Failures) != 1 || !strings.Contains(res.Failures[0].String(), "service crash panicked") {
		t.Errorf("failures %q, want crash's panic", res.Failures)
	}
}
