package split

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/host"
)

// chainGuests is a chain of three services, front -> middle -> back, with
// the given budgets, and the chaincaller program with env.
func chainGuests(t *testing.T, front, middle, back time.Duration, env ...string) []*host.GuestSpec {
	t.Helper()
	dir := filepath.Dir(testGuests(t, 1)[0].Wasm)
	link := func(name, serve, next string, budget time.Duration, requires ...string) *host.GuestSpec {
		return &host.GuestSpec{Name: name, Kind: host.Service, Wasm: filepath.Join(dir, "chain.wasm"), Implements: []string{serve},
			Requires: requires, MethodTimeout: budget, Replicas: 1, Env: []string{"CHAIN_SERVE=" + serve, "CHAIN_NEXT=" + next, "DEADLINE_AT_MOST=" + front.String()}}
	}
	return []*host.GuestSpec{
		link("back", "test.Back", "", back),
		link("middle", "test.Middle", "test.Back", middle, "back"),
		link("front", "test.Front", "test.Middle", front, "middle"),
		{Name: "chaincaller", Kind: host.Program, Wasm: filepath.Join(dir, "chaincaller.wasm"), Requires: []string{"front", "middle", "back"},
			Env: env, Replicas: 1},
	}
}

// inBothModes runs guests in single mode and in split mode and checks that
// each output has every line of want (after its guest's prefix); a want
// ending in "..." matches any line that starts with what precedes it.
func inBothModes(t *testing.T, guests func() []*host.GuestSpec, want ...string) {
	t.Helper()
	single, singleOut := runSingle(t, guests())
	split, splitOut, splitErr := supervise(t, guests(), nil, nil)
	for _, m := range []struct {
		mode, out, more string
		res             host.Result
	}{{"single", singleOut, "", single}, {"split", splitOut, splitErr, split}} {
		var got []string
		for _, l := range strings.Split(m.out, "\n") {
			if label, rest, ok := strings.Cut(l, " | "); ok {
				got = append(got, strings.TrimSpace(label)+" | "+rest)
			}
		}
		for _, w := range want {
			prefix, isPrefix := strings.CutSuffix(w, "...")
			if !slices.ContainsFunc(got, func(l string) bool { return l == w || isPrefix && strings.HasPrefix(l, prefix) }) {
				t.Errorf("%s mode: output lacks %q:\n%s%s", m.mode, w, m.out, m.more)
			}
		}
		if m.res.ExitCode != 0 || len(m.res.Failures) != 0 {
			t.Errorf("%s mode: exit %d, failures %v", m.mode, m.res.ExitCode, m.res.Failures)
		}
	}
}

func TestDeadlinesTravelAlongAChainOfCalls(t *testing.T) {
	skipUnderRace(t)
	t.Run("a callee's own calls end when its caller's deadline does, not at their budgets", func(t *testing.T) {
		// Every link's call ends by front's deadline: each caller up the
		// chain sees the error forwarded from below, or its own expiry on
		// a machine too busy to pass it on in time; both are deadline
		// exceeded.
		inBothModes(t, func() []*host.GuestSpec {
			return chainGuests(t, 300*time.Millisecond, time.Minute, time.Minute, "CHAIN_SCENARIO=relay", "CHAIN_REQUEST=never")
		},
			"middle | relay failed: test.Back/Relay: deadline exceeded: no reply from service back before the deadline this call inherited from its caller (its own budget is 1m0s)",
			"front | relay failed: test.Middle/Relay: deadline exceeded: ...",
			"chaincaller | error: test.Front/Relay: deadline exceeded: ...",
		)
	})
	t.Run("the head of the chain hears which link held it up", func(t *testing.T) {
		// Each link's call ends a margin before the call it serves (at
		// most 100ms of front's 1.6s): middle learns that back did not
		// answer, and passes it on, before front's deadline, and front
		// before chaincaller's, rather than each timing out on the one
		// below it at the same instant.
		inBothModes(t, func() []*host.GuestSpec {
			return chainGuests(t, 1600*time.Millisecond, time.Minute, time.Minute, "CHAIN_SCENARIO=relay", "CHAIN_REQUEST=never")
		},
			"chaincaller | error: test.Front/Relay: deadline exceeded: no reply from service back before the deadline this call inherited from its caller (its own budget is 1m0s) (code deadline exceeded)",
		)
	})
	t.Run("a method sees its call's deadline, inherited from the first caller", func(t *testing.T) {
		inBothModes(t, func() []*host.GuestSpec {
			return chainGuests(t, 2*time.Second, time.Minute, time.Minute, "CHAIN_SCENARIO=relay", "CHAIN_REQUEST=deadline")
		}, "chaincaller | reply: deadline set true, at most 2s away true")
	})
	t.Run("a call whose caller has given up is dropped unrun", func(t *testing.T) {
		// Middle calls Busy on back, then relays the call, whose 100 ms
		// run out while back spends half a second in Busy. Both calls take
		// the one way from middle to back (one connection in split mode),
		// so the relayed call waits behind Busy however busy the machine
		// is. When chaincaller called Busy itself, on a connection of its
		// own, the relay could overtake it whenever back's process did not
		// run within orderWait (inOrder's own tests check that ordering).
		// What is checked is the outcome and the order of the calls, not
		// how long anything took.
		inBothModes(t, func() []*host.GuestSpec {
			return chainGuests(t, time.Minute, 100*time.Millisecond, time.Minute, "CHAIN_SCENARIO=queued")
		},
			"middle | relay failed: test.Back/Relay: deadline exceeded: ...",
			"chaincaller | error: test.Middle/Relay: deadline exceeded: ...",
			"chaincaller | back: relayed 0",
		)
	})
}

func TestATypedErrorCrossesAChainIntact(t *testing.T) {
	skipUnderRace(t)
	inBothModes(t, func() []*host.GuestSpec {
		return chainGuests(t, time.Minute, time.Minute, time.Minute, "CHAIN_SCENARIO=relay", "CHAIN_REQUEST=fail")
	},
		"chaincaller | error: test.Front/Relay: failed precondition: balance too low (code failed precondition, detail 42)",
		"middle | relay failed: test.Back/Relay: failed precondition: balance too low",
	)
}
