package split

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/lines"
)

// faultGuests is the faulty service (no restarts, a 64 MiB memory limit,
// on_overrun = "stop" with the given budget) and a program that calls the
// method named fault between two calls of Hello.
func faultGuests(t *testing.T, fault string, budget time.Duration) []*host.GuestSpec {
	t.Helper()
	dir := filepath.Dir(testGuests(t, 1)[0].Wasm)
	return []*host.GuestSpec{
		{Name: "faulty", Kind: host.Service, Wasm: filepath.Join(dir, "faulty.wasm"), Implements: []string{"test.Faulty"},
			MethodTimeout: budget, MemoryLimit: 64 << 20, Overrun: host.OverrunStop, Replicas: 1},
		{Name: "faultcaller", Kind: host.Program, Wasm: filepath.Join(dir, "faultcaller.wasm"), Requires: []string{"faulty"},
			Env: []string{"FAULT=" + fault}, Replicas: 1},
	}
}

// runSingle runs guests in one host, as `parigot run` does.
func runSingle(t *testing.T, guests []*host.GuestSpec) (host.Result, string) {
	t.Helper()
	return runSingleWith(t, guests, host.Backoff{})
}

// runSingleWith is runSingle with the waits before restarts backoff.
func runSingleWith(t *testing.T, guests []*host.GuestSpec, backoff host.Backoff) (host.Result, string) {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := host.Run(ctx, host.Config{Guests: guests, Stdout: &out, Stderr: &out, Backoff: backoff})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	return res, out.String()
}

// ranFor hides how long a method ran, which no two runs share.
var ranFor = regexp.MustCompile(`ran for [0-9.]+m?s`)

// outcome is what a user sees of a fault: each line the caller printed,
// and the run's summary lines, with timings hidden.
func outcome(res host.Result, stdout string) (calls, summary []string) {
	for _, l := range strings.Split(stdout, "\n") {
		if _, rest, ok := strings.Cut(l, "faultcaller | "); ok {
			calls = append(calls, ranFor.ReplaceAllString(rest, "ran for T"))
		}
	}
	for _, f := range res.Failures {
		summary = append(summary, ranFor.ReplaceAllString(f.String(), "ran for T"))
	}
	return calls, summary
}

// modeRun is how one run of guests ended in one mode: its result, its
// output, and (split mode) the supervisor's stderr.
type modeRun struct {
	mode   string
	res    host.Result
	stdout string
	more   string
}

// bothModes runs the guests guests makes in single mode, then in split
// mode.
func bothModes(t *testing.T, guests func() []*host.GuestSpec) []modeRun {
	t.Helper()
	return bothModesWith(t, guests, host.Backoff{})
}

// bothModesWith is bothModes with the waits before restarts backoff.
func bothModesWith(t *testing.T, guests func() []*host.GuestSpec, backoff host.Backoff) []modeRun {
	t.Helper()
	single, singleOut := runSingleWith(t, guests(), backoff)
	split, splitOut, splitErr, err := superviseWith(t, guests(), Options{Backoff: backoff}, nil)
	if err != nil {
		t.Fatalf("Supervise: %v\nstdout:\n%s\nstderr:\n%s", err, splitOut, splitErr)
	}
	return []modeRun{{"single", single, singleOut, ""}, {"split", split, splitOut, splitErr}}
}

func TestEveryFaultReadsTheSameInBothModes(t *testing.T) {
	skipUnderRace(t)
	const unavailable = "Hello: test.Faulty/Hello: unavailable: service faulty is not running"
	for _, c := range []struct {
		fault   string
		budget  time.Duration // the service's method_timeout: long but for the overrun
		call    string        // how the caller's call of the faulty method ended
		after   string        // how the next call, a second later, ended
		summary string        // the run's one failure
	}{
		{"Panic", time.Minute, "Panic: test.Faulty/Panic: unavailable: service faulty panicked",
			unavailable, "service faulty panicked (its stack trace is above)"},
		{"Trap", time.Minute, "Trap: test.Faulty/Trap: unavailable: service faulty trapped in function _start: wasm error: out of bounds memory access",
			unavailable, "service faulty trapped in function _start: wasm error: out of bounds memory access"},
		{"Exit", time.Minute, "Exit: test.Faulty/Exit: unavailable: service faulty exited with code 3",
			unavailable, "service faulty exited with code 3"},
		{"ExitNegative", time.Minute, "ExitNegative: test.Faulty/ExitNegative: unavailable: service faulty exited with code -1",
			unavailable, "service faulty exited with code -1"},
		{"Deadlock", time.Minute, "Deadlock: test.Faulty/Deadlock: unavailable: service faulty deadlocked",
			unavailable, "service faulty deadlocked: its code waited on a channel or a lock that nothing could release (its stack trace is above); a guest has one thread, so its code must not block: see \"One thread, no blocking\" in docs/GUEST_API.md"},
		{"Hog", time.Minute, "Hog: test.Faulty/Hog: unavailable: service faulty ran out of memory (its limit is 64 MiB)",
			unavailable, "service faulty ran out of memory (its limit is 64 MiB)"},
		{"Spin", 200 * time.Millisecond, "Spin: test.Faulty/Spin: deadline exceeded: no reply from service faulty within its method budget of 200ms",
			unavailable, "service faulty was stopped: method test.Faulty/Spin ran for T, over its budget of 200ms"},
	} {
		t.Run("a service that fails with "+c.fault, func(t *testing.T) {
			want := []string{"Hello: ok", c.call, c.after}
			for _, m := range bothModes(t, func() []*host.GuestSpec { return faultGuests(t, c.fault, c.budget) }) {
				calls, summary := outcome(m.res, m.stdout)
				if strings.Join(calls, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s mode: the caller saw\n\t%s\nwant\n\t%s\noutput:\n%s%s", m.mode, strings.Join(calls, "\n\t"), strings.Join(want, "\n\t"), m.stdout, m.more)
				}
				if len(summary) != 1 || summary[0] != c.summary {
					t.Errorf("%s mode: failures %q, want [%q]", m.mode, summary, c.summary)
				}
			}
		})
	}
}

// What a host says of its own reads the same in both modes: in split mode,
// the child's host says it, and its supervisor writes it unprefixed, as
// single mode's host does, not as a line of the guest's ("faulty | ...").
func TestTheHostsOwnLinesReadTheSameInBothModes(t *testing.T) {
	skipUnderRace(t)
	guests := func() []*host.GuestSpec {
		g := faultGuests(t, "Spin", 200*time.Millisecond)
		g[0].Overrun = host.OverrunReport // said by the host of the service, and left running
		return g
	}
	// Reported by the watchdog, or, on a machine too busy for it to look
	// in time, when the run ends: either way by the service's host.
	report := regexp.MustCompile(`(?m)^parigot: service faulty: method test.Faulty/Spin ran for [0-9.]+m?s, over its budget of 200ms(, and was still running when the run ended)? \(on_overrun = "report": left running\)$`)
	// A guest's line that starts with the mark of the host's own lines
	// reads as the guest's: prefixed, and in split mode, where the mark
	// means something, escaped.
	asHosts := regexp.MustCompile(`(?m)^\x1e?parigot: a line of the guest's`)
	asGuests := map[string]*regexp.Regexp{
		"single": regexp.MustCompile(`(?m)^faulty +\| \x1eparigot: a line of the guest's`),
		"split":  regexp.MustCompile(`(?m)^faulty +\| ␞parigot: a line of the guest's`),
	}
	for _, m := range bothModes(t, guests) {
		out := m.stdout + m.more
		if !report.MatchString(out) {
			t.Errorf("%s mode: no line of the host's own report of the overrun, unprefixed:\n%s", m.mode, out)
		}
		if asHosts.MatchString(out) || !asGuests[m.mode].MatchString(out) {
			t.Errorf("%s mode: the guest's line that starts with the host's mark does not read as the guest's:\n%q", m.mode, out)
		}
	}
}

// A guest may print what reads like the Go runtime's report of a panic or
// of running out of memory, as a log line; a program that then exits 0, or a
// service that goes on serving, has neither panicked nor run out of memory.
func TestOutputThatReadsLikeACrashIsNotOne(t *testing.T) {
	skipUnderRace(t)
	const say = "panic: this is just a log line"
	guests := func() []*host.GuestSpec {
		g := faultGuests(t, "Log", time.Minute)
		g[1].Env = append(g[1].Env, "SAY="+say)
		return g
	}
	want := []string{"Hello: ok", "Log: ok", "Hello: ok", say}
	for _, m := range bothModes(t, guests) {
		calls, summary := outcome(m.res, m.stdout)
		if strings.Join(calls, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s mode: the caller saw\n\t%s\nwant\n\t%s\noutput:\n%s%s", m.mode, strings.Join(calls, "\n\t"), strings.Join(want, "\n\t"), m.stdout, m.more)
		}
		if m.res.ExitCode != 0 || len(summary) != 0 {
			t.Errorf("%s mode: exit code %d, failures %q; want 0 and none\noutput:\n%s%s", m.mode, m.res.ExitCode, summary, m.stdout, m.more)
		}
	}
}

// A program's exit code is the run's as the program gave it, whatever it
// is: -1 is also wazero's code for a module whose context was cancelled,
// which must not make the program's own exit read as a stop by the host.
func TestAProgramsOwnExitCodeIsTheRunsInBothModes(t *testing.T) {
	skipUnderRace(t)
	for _, code := range []int{-1, 3, 256} {
		t.Run(fmt.Sprintf("a program that exits with %d", code), func(t *testing.T) {
			guests := func() []*host.GuestSpec {
				g := faultGuests(t, "Hello", time.Minute)
				g[1].Env = append(g[1].Env, "THEN=exit", fmt.Sprintf("EXIT=%d", code))
				return g
			}
			for _, m := range bothModes(t, guests) {
				if _, summary := outcome(m.res, ""); m.res.ExitCode != code || len(summary) != 0 {
					t.Errorf("%s mode: exit code %d, failures %q; want %d and none\noutput:\n%s%s", m.mode, m.res.ExitCode, summary, code, m.stdout, m.more)
				}
			}
		})
	}
}

// killOnFirstHello is the output of a run that kills the faulty service's
// process as soon as the caller's first call has its reply.
type killOnFirstHello struct {
	lines.Buffer
	mu  sync.Mutex
	pid int
}

func (k *killOnFirstHello) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("faultcaller | Hello: ok")) {
		k.mu.Lock()
		syscall.Kill(k.pid, syscall.SIGKILL)
		k.mu.Unlock()
	}
	return k.Buffer.Write(p)
}

// superviseKillingOnFirstHello runs guests, faulty and its caller, split
// into processes, and kills the faulty service's process as soon as the
// caller's first call has its reply.
func superviseKillingOnFirstHello(t *testing.T, guests []*host.GuestSpec, backoff host.Backoff) (host.Result, string, string) {
	t.Helper()
	spec, _ := json.Marshal(guests)
	t.Setenv(envChild, string(spec))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out killOnFirstHello
	var errOut lines.Buffer
	res, err := Supervise(context.Background(), Options{
		App: "test", Guests: guests, Executable: exe,
		ChildArgs: func(g string) []string { return []string{g} },
		Stdout:    &out, Stderr: &errOut,
		Started: func(label string, pid int) {
			if label == "faulty" {
				out.mu.Lock()
				out.pid = pid
				out.mu.Unlock()
			}
		},
		Backoff: backoff,
	})
	if err != nil {
		t.Fatalf("Supervise: %v\n%s", err, errOut.String())
	}
	return res, out.String(), errOut.String()
}

// Single mode has no process per guest that could be killed; in split mode
// a killed service reads as any other crash: its callers get unavailable,
// and the run names it.
func TestAKilledServiceProcessReadsLikeACrash(t *testing.T) {
	res, out, _ := superviseKillingOnFirstHello(t, faultGuests(t, "Hello", time.Minute), host.Backoff{})
	calls, summary := outcome(res, out)
	const unavailable = "Hello: test.Faulty/Hello: unavailable: service faulty is not running"
	if want := []string{"Hello: ok", unavailable, unavailable}; strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("the caller saw\n\t%s\nwant\n\t%s", strings.Join(calls, "\n\t"), strings.Join(want, "\n\t"))
	}
	if want := "service faulty was killed (signal: killed)"; len(summary) != 1 || summary[0] != want {
		t.Errorf("failures %q, want [%q]", summary, want)
	}
}

// A killed service process that its supervisor starts again waits first
// when its restart does, as the supervisor says: the supervisor goes on
// meanwhile (the program's calls fail at once, as while it is down), and
// the end of the run ends the wait, without starting it again.
func TestAKilledServiceProcessWaitsToStartAgainAndTheRunDoesNotWaitForIt(t *testing.T) {
	guests := faultGuests(t, "Hello", time.Minute)
	guests[0].Restart = host.RestartOnFailure
	res, out, errOut := superviseKillingOnFirstHello(t, guests, host.Backoff{Waits: []time.Duration{time.Hour}})
	calls, summary := outcome(res, out)
	const unavailable = "Hello: test.Faulty/Hello: unavailable: service faulty is not running"
	if want := []string{"Hello: ok", unavailable, unavailable}; strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("the caller saw\n\t%s\nwant\n\t%s\nstderr:\n%s", strings.Join(calls, "\n\t"), strings.Join(want, "\n\t"), errOut)
	}
	said := regexp.MustCompile(`(?m)^parigot: service faulty was killed \(signal: killed\); restarting it in 1h0m0s \(1 of 3\)$`)
	if !said.MatchString(errOut) || strings.Count(errOut, "restarting it") != 1 {
		t.Errorf("stderr does not say the restart once, with its wait:\n%s", errOut)
	}
	if want := "service faulty was killed (signal: killed)"; len(summary) != 1 || summary[0] != want {
		t.Errorf("failures %q, want [%q]", summary, want)
	}
}

func TestAnOverrunIsReportedWhenTheRunEndsFirst(t *testing.T) {
	skipUnderRace(t)
	guests := func() []*host.GuestSpec {
		// The run ends on the deadline, well before the host would stop the
		// method (at the budget plus as much again): a budget of seconds
		// leaves a split-mode stop time to arrive on a busy machine.
		g := faultGuests(t, "Spin", 2*time.Second)
		g[1].Env = append(g[1].Env, "THEN=exit")
		return g
	}
	const want = "service faulty was stopped: method test.Faulty/Spin ran for T, over its budget of 2s, and was still running when the run ended"
	single, _ := runSingle(t, guests())
	split, _, splitErr := supervise(t, guests(), nil, nil)
	for _, m := range []struct {
		mode string
		res  host.Result
	}{{"single", single}, {"split", split}} {
		if _, summary := outcome(m.res, ""); len(summary) != 1 || summary[0] != want {
			t.Errorf("%s mode: failures %q, want [%q]", m.mode, summary, want)
		}
	}
	if t.Failed() {
		t.Logf("split mode's stderr:\n%s", splitErr)
	}
}
