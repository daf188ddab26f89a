package host

import (
	"context"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
)

func TestThePollSpinIsReadFromItsVariable(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want time.Duration
	}{
		{"", DefaultPollSpin},
		{"0", 0},
		{"0s", 0},
		{"25us", 25 * time.Microsecond},
		{"1ms", time.Millisecond},
		{"2ms", DefaultPollSpin}, // past the bound
		{"-1us", DefaultPollSpin},
		{"ten", DefaultPollSpin},
		{"10", DefaultPollSpin}, // a number without a unit is no duration
	} {
		if got := parsePollSpin(tc.env); got != tc.want {
			t.Errorf("%s=%q: spin %v, want %v", EnvPollSpin, tc.env, got, tc.want)
		}
	}
}

// TestAGuestSpinsOnlyWhileItsEventsComeQuickly: a poll spins when the
// guest's last wait, for another guest, was shorter than the spin, and
// sees an event pushed meanwhile; it does not spin after a long wait, for
// events from outside the process's guests, nor when spinning is off.
func TestAGuestSpinsOnlyWhileItsEventsComeQuickly(t *testing.T) {
	in := newInstance(&run{}, &GuestSpec{Name: "svc", Kind: Service, MethodTimeout: time.Second})
	caller := newInstance(&run{}, &GuestSpec{Name: "prog", Kind: Program})
	call := delivery{ev: abi.Event{Kind: abi.KindCall, CallID: 1, Method: "test.Echo/Echo"}, from: caller}

	// With a call already in the inbox, a spin would see it at its first
	// look: a poll that does not spin says there is nothing, unlooked.
	in.push(call)
	for _, tc := range []struct {
		name        string
		peerIsGuest bool
		lastWait    time.Duration
		window      time.Duration
	}{
		{"after a long wait", true, time.Hour, time.Minute},
		{"with spinning off", true, 0, 0},
		{"after a call from outside the process's guests", false, 0, time.Minute},
	} {
		in.peerIsGuest, in.lastWait = tc.peerIsGuest, tc.lastWait
		if in.spin(tc.window) {
			t.Errorf("%s: the guest spun", tc.name)
		}
	}
	in.drain()
	in.ready, in.peerIsGuest, in.lastWait = events{}, true, 0
	// A quick exchange: the event comes while the guest spins. (The spin's
	// bound is the test's patience: only a machine that never runs the
	// pushing goroutine makes the spin give up.)
	go func() {
		time.Sleep(time.Millisecond)
		in.push(call)
	}()
	if !in.spin(patience) {
		t.Fatal("the spin gave up before the event pushed meanwhile")
	}
	if ev, ok, _ := in.next(t.Context(), time.Second); !ok || ev.Kind != abi.KindCall {
		t.Errorf("after the spin, the poll returned %+v, %v; want the call", ev, ok)
	}
}

// TestASpinSeesWhatWaitsInTheInboxAndNothingElse: the flag a spin reads
// says whether the inbox holds something the poll can take: set by a
// push, cleared by the drain that empties it, and left clear when a drain
// keeps calls back (a guest being swapped holds its calls), until the
// next push.
func TestASpinSeesWhatWaitsInTheInboxAndNothingElse(t *testing.T) {
	in := newInstance(&run{}, &GuestSpec{Name: "svc", Kind: Service, MethodTimeout: time.Second})
	caller := newInstance(&run{}, &GuestSpec{Name: "prog", Kind: Program})
	call := delivery{ev: abi.Event{Kind: abi.KindCall, CallID: 1, Method: "test.Echo/Echo"}, from: caller}
	quick := func() bool {
		in.peerIsGuest, in.lastWait = true, 0
		return in.spin(time.Millisecond)
	}
	if quick() {
		t.Fatal("a spin on an empty inbox saw an event")
	}
	in.push(call)
	if !quick() {
		t.Fatal("a spin did not see the call pushed")
	}
	in.drain()
	if quick() {
		t.Fatal("a spin saw an event after the drain took the inbox's only call")
	}
	// A call held back for a reload is nothing this guest's poll can
	// take: a spin that saw it would only send the poll round again.
	in.hold.Store(true)
	in.push(call)
	in.drain()
	if quick() {
		t.Error("a spin saw a call that a drain held back")
	}
	in.push(call)
	if !quick() {
		t.Error("a spin did not see a call pushed while another was held")
	}
}

// TestAParkedGuestIsNotCountedAwake: a guest's poll counts itself out of
// the run's awake guests while it parks, and back in however the wait
// ends (an event, its timeout, the guest's stop), so that spins look
// longer between yields only while every awake guest can have a
// processor.
func TestAParkedGuestIsNotCountedAwake(t *testing.T) {
	r := &run{procs: 1}
	in := newInstance(r, &GuestSpec{Name: "svc", Kind: Service, MethodTimeout: time.Second})
	caller := newInstance(r, &GuestSpec{Name: "prog", Kind: Program})
	r.awake.Store(2) // both run, as runOnce counts them
	if got := r.looksBetweenYields(); got != sharedSpinLooks {
		t.Errorf("two guests awake on one processor: %d looks between yields, want %d", got, sharedSpinLooks)
	}
	in.lastWait = time.Hour // no spin: the poll parks at once

	waitForAwake := func(want int32) {
		t.Helper()
		for deadline := time.Now().Add(patience); r.awake.Load() != want; {
			if time.Now().After(deadline) {
				t.Fatalf("%d guests awake, want %d", r.awake.Load(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for _, end := range []string{"an event", "its timeout", "its stop"} {
		returned := make(chan struct{})
		go func() {
			defer close(returned)
			timeout := time.Duration(-1)
			if end == "its timeout" {
				timeout = 50 * time.Millisecond
			}
			in.next(ctx, timeout)
		}()
		if end != "its timeout" { // which may come before a busy machine looks
			waitForAwake(1)
			if got := r.looksBetweenYields(); got != spinLooks {
				t.Errorf("one guest awake on one processor: %d looks between yields, want %d", got, spinLooks)
			}
		}
		switch end {
		case "an event":
			in.push(delivery{ev: abi.Event{Kind: abi.KindCall, CallID: 1, Method: "test.Echo/Echo"}, from: caller})
		case "its stop":
			cancel()
		}
		<-returned
		if got := r.awake.Load(); got != 2 {
			t.Errorf("after a wait ended by %s: %d guests awake, want 2", end, got)
		}
		in.drain()
		in.ready = events{}
	}
}
