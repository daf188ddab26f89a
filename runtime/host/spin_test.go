package host

import (
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
