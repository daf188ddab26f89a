package host

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"parigot.dev/parigot/internal/syncbuf"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

func TestBackoffWaits(t *testing.T) {
	short, long := time.Second, time.Minute // runs before the failure
	for _, c := range []struct {
		name    string
		backoff Backoff
		n       int
		ran     time.Duration
		want    time.Duration
	}{
		{"the first restart comes at once", Backoff{}, 1, short, 0},
		{"the second after a quarter of a second", Backoff{}, 2, short, 250 * time.Millisecond},
		{"the third after a second", Backoff{}, 3, short, time.Second},
		{"any later one after a second too", Backoff{}, 7, short, time.Second},
		{"a restart after a run of ten seconds comes at once", Backoff{}, 3, DefaultHealthyRun, 0},
		{"one after a run of a minute too", Backoff{}, 2, long, 0},
		{"a run just short of healthy is not", Backoff{}, 2, DefaultHealthyRun - time.Millisecond, 250 * time.Millisecond},
		{"waits given are taken in order", Backoff{Waits: []time.Duration{time.Millisecond, 2 * time.Millisecond}}, 1, short, time.Millisecond},
		{"the last wait given is kept for later restarts", Backoff{Waits: []time.Duration{time.Millisecond, 2 * time.Millisecond}}, 3, short, 2 * time.Millisecond},
		{"one zero wait is none ever", Backoff{Waits: []time.Duration{0}}, 3, short, 0},
		{"a healthy run given is taken", Backoff{Healthy: long}, 2, 30 * time.Second, 250 * time.Millisecond},
		{"a restart counted from nothing waits nothing", Backoff{}, 0, short, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.backoff.Wait(c.n, c.ran); got != c.want {
				t.Errorf("Wait(%d, %s) = %s, want %s", c.n, c.ran, got, c.want)
			}
		})
	}
}

func TestTheRestartLineSaysTheWait(t *testing.T) {
	f := Failure{Guest: "books", Kind: Service, Cause: CausePanicked}
	for _, c := range []struct {
		n    int
		wait time.Duration
		want string
	}{
		{1, 0, "parigot: service books panicked (its stack trace is above); restarting it (1 of 3)"},
		{2, 250 * time.Millisecond, "parigot: service books panicked (its stack trace is above); restarting it in 250ms (2 of 3)"},
		{3, time.Second, "parigot: service books panicked (its stack trace is above); restarting it in 1s (3 of 3)"},
	} {
		if got := RestartLine(f, c.n, c.wait); got != c.want {
			t.Errorf("RestartLine(%d, %s) = %q, want %q", c.n, c.wait, got, c.want)
		}
	}
}

// A service has MaxRestarts restarts in any RestartWindow: a fourth failure
// within the window leaves it down, but restarts out of the window no
// longer count, so a service that fails now and then over a long run is
// restarted each time.
func TestRestartsAreCountedWithinTheirWindow(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name  string
		after []time.Duration // when each failure comes, from start
		want  []string        // which restart each one is, or "down"
	}{
		{"three failures in a minute are restarted, the fourth is not",
			[]time.Duration{0, 20 * time.Second, 40 * time.Second, time.Minute},
			[]string{"1", "2", "3", "down"}},
		{"a failure a day is restarted each time",
			[]time.Duration{0, 24 * time.Hour, 48 * time.Hour, 72 * time.Hour, 96 * time.Hour},
			[]string{"1", "1", "1", "1", "1"}},
		{"restarts drop out of the window one by one",
			[]time.Duration{0, time.Minute, 2 * time.Minute, RestartWindow + time.Second, RestartWindow + 2*time.Second},
			[]string{"1", "2", "3", "3", "down"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r Restarts
			var got []string
			for _, d := range c.after {
				n, ok := r.Take(start.Add(d), Backoff{}.RestartWindow())
				if !ok {
					got = append(got, "down")
					continue
				}
				got = append(got, fmt.Sprint(n))
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("restarts %v, want %v", got, c.want)
			}
		})
	}
}

// A service that panics more than MaxRestarts times in a run, each time
// after its earlier restarts have left the window, is restarted each time
// and serves after the last: a run of weeks does not end its service's
// restarts, and the run keeps the latest of its failures, not every one.
func TestAServiceThatFailsNowAndThenIsRestartedEachTime(t *testing.T) {
	faulty := &GuestSpec{Name: "faulty", Kind: Service, Wasm: wasm(t, "faulty"), Implements: []string{"test.Faulty"},
		MethodTimeout: time.Minute, Restart: RestartOnFailure}
	caller := &GuestSpec{Name: "faultcaller", Kind: Program, Wasm: wasm(t, "faultcaller"), Requires: []string{"faulty"},
		Env: []string{"FAULT=Panic", fmt.Sprintf("TIMES=%d", MaxRestarts+2)}}
	var out bytes.Buffer
	// A window of a nanosecond stands for the hours between the failures
	// of a long run.
	res, err := Run(t.Context(), Config{Guests: []*GuestSpec{faulty, caller}, Stdout: &out, Stderr: &out,
		Backoff: Backoff{Waits: []time.Duration{0}, Window: time.Nanosecond}})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	const panicked = "faultcaller | Panic: test.Faulty/Panic: unavailable: service faulty panicked"
	want := []string{"faultcaller | Hello: ok"}
	for range MaxRestarts + 2 {
		want = append(want, panicked)
	}
	assertLines(t, out.String(), append(want, "faultcaller | Hello: ok"))
	if n := strings.Count(out.String(), "restarting it (1 of 3)"); n != MaxRestarts+2 {
		t.Errorf("the host said %d restarts, each the first in its window, want %d:\n%s", n, MaxRestarts+2, out.String())
	}
	if strings.Contains(out.String(), "down for the rest of the run") {
		t.Errorf("the service went down for good:\n%s", out.String())
	}
	if res.ExitCode != 0 || len(res.Failures) != MaxRestarts+1 {
		t.Errorf("exit %d, %d failures kept; want 0 and the latest %d", res.ExitCode, len(res.Failures), MaxRestarts+1)
	}
}

// timedLines notes when each line written to it arrived.
type timedLines struct {
	mu      sync.Mutex
	pending []byte
	lines   []string
	at      []time.Time
}

func (w *timedLines) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, p...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.lines = append(w.lines, string(w.pending[:i]))
		w.at = append(w.at, time.Now())
		w.pending = w.pending[i+1:]
	}
}

// said is the host's own lines, in order, with when each arrived: the
// records of guest "parigot" with logJSON, each its msg.
func (w *timedLines) said(t *testing.T, logJSON bool) ([]string, []time.Time) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var said []string
	var at []time.Time
	for i, l := range w.lines {
		if logJSON {
			var rec struct{ Guest, Msg string }
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatalf("with LogJSON, a line that is not a JSON record: %q (%v)", l, err)
			}
			if rec.Guest != "parigot" {
				continue
			}
			l = rec.Msg
		}
		if strings.HasPrefix(l, "parigot: ") {
			said = append(said, l)
			at = append(at, w.at[i])
		}
	}
	return said, at
}

// A service that fails as it starts (a panic in main; a dependency that is
// not up yet fails it the same way) comes back at once the first time,
// then after growing waits, which the restart line says, in text and in
// JSON; and the waits are waited.
func TestAServiceThatFailsAtStartWaitsLongerBeforeEachRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm guests")
	}
	dir, err := reloadWasm()
	if err != nil {
		t.Fatal(err)
	}
	const failed = "parigot: service nostart panicked (its stack trace is above); restarting it"
	want := []string{failed + " (1 of 3)", failed + " in 250ms (2 of 3)", failed + " in 1s (3 of 3)"}
	for _, logJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("LogJSON %v", logJSON), func(t *testing.T) {
			nostart := &GuestSpec{Name: "nostart", Kind: Service, Wasm: filepath.Join(dir, "nostart.wasm"), Implements: []string{"test.Version"},
				MethodTimeout: time.Second, Restart: RestartOnFailure}
			var out timedLines
			// The default waits; a run however slow is not a healthy one.
			_, err := Run(t.Context(), Config{Guests: []*GuestSpec{nostart}, Stdout: &out, Stderr: &out, LogJSON: logJSON,
				Backoff: Backoff{Healthy: patience}})
			ended := time.Now()
			var se *StartError
			if !errors.As(err, &se) || se.Problem != EndedBeforeReady {
				t.Errorf("Run: %v, want that nostart ended before it was ready", err)
			}
			said, at := out.said(t, logJSON)
			if strings.Join(said, "\n") != strings.Join(want, "\n") {
				t.Fatalf("the host said\n\t%s\nwant\n\t%s", strings.Join(said, "\n\t"), strings.Join(want, "\n\t"))
			}
			// A busy machine makes the gaps longer, never shorter.
			if gap := at[2].Sub(at[1]); gap < 250*time.Millisecond {
				t.Errorf("the third failure came %s after the second restart was said, less than its wait", gap)
			}
			if gap := ended.Sub(at[2]); gap < time.Second {
				t.Errorf("the run ended %s after the third restart was said, less than its wait", gap)
			}
		})
	}
}

// While a service waits to start again, calls to it fail at once with
// unavailable, each exactly once, the other guests go on, and the run ends
// when its programs do: the end of the run ends the wait, and the service
// is not started again.
func TestCallsToAServiceWaitingToRestartFailAtOnceAndTheRunDoesNotWaitForIt(t *testing.T) {
	faulty := &GuestSpec{Name: "faulty", Kind: Service, Wasm: wasm(t, "faulty"), Implements: []string{"test.Faulty"},
		MethodTimeout: time.Minute, Restart: RestartOnFailure}
	caller := &GuestSpec{Name: "faultcaller", Kind: Program, Wasm: wasm(t, "faultcaller"), Requires: []string{"faulty"},
		Env: []string{"FAULT=Panic", "TIMES=2"}}
	var out bytes.Buffer
	res, err := Run(t.Context(), Config{Guests: []*GuestSpec{faulty, caller}, Stdout: &out, Stderr: &out,
		Backoff: Backoff{Waits: []time.Duration{0, time.Hour}}})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	// The caller's lines and the host's, each in order (the host says a
	// restart as the caller hears of the panic).
	const panicked = "faultcaller | Panic: test.Faulty/Panic: unavailable: service faulty panicked"
	assertLines(t, out.String(), []string{
		"faultcaller | Hello: ok",
		panicked,
		panicked,
		"faultcaller | Hello: test.Faulty/Hello: unavailable: service faulty is not running",
	})
	assertLines(t, out.String(), []string{
		"parigot: service faulty panicked (its stack trace is above); restarting it (1 of 3)",
		"parigot: service faulty panicked (its stack trace is above); restarting it in 1h0m0s (2 of 3)",
	})
	if n := strings.Count(out.String(), "faultcaller | "); n != 4 {
		t.Errorf("the caller printed %d lines, want one for each of its 4 calls:\n%s", n, out.String())
	}
	if strings.Contains(out.String(), "abandoning") {
		t.Errorf("the service waiting to start again held up the end of the run:\n%s", out.String())
	}
	if res.ExitCode != 0 || len(res.Failures) != 2 {
		t.Errorf("exit %d, failures %q; want 0 and the two panics", res.ExitCode, res.Failures)
	}
}

// onLine is output that calls do, once, when a line containing text is
// written to it.
type onLine struct {
	bytes.Buffer
	text string
	do   func()
	once sync.Once
}

func (w *onLine) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(w.text)) {
		w.once.Do(w.do)
	}
	return w.Buffer.Write(p)
}

// A replica waiting to start again (split mode's, whose calls come
// through Remote) sends a call whose caller knows another replica there
// (route.Stalled), as one not ready since it started again does; a call
// that cannot go elsewhere fails at once with unavailable, as while any
// guest is down.
func TestAServiceWaitingToRestartSendsCallsThatCanGoElsewhereToAnotherReplica(t *testing.T) {
	faulty := &GuestSpec{Name: "faulty", Kind: Service, Wasm: wasm(t, "faulty"), Implements: []string{"test.Faulty"},
		MethodTimeout: time.Minute, Restart: RestartOnFailure}
	caller := &GuestSpec{Name: "faultcaller", Kind: Program, Wasm: wasm(t, "faultcaller"), Requires: []string{"faulty"},
		Env: []string{"FAULT=Panic", "TIMES=2"}}
	remote := &fakeRemote{local: make(chan route.Endpoint, 1), ready: make(chan struct{})}
	var movable, stays route.Refusal
	out := &onLine{text: "restarting it in 1h0m0s (2 of 3)", do: func() {
		local := <-remote.local
		call := abi.Event{Kind: abi.KindCall, CallID: 1, Method: "test.Faulty/Hello"}
		movable = local.Deliver(call, &movingEnd{movable: true})
		stays = local.Deliver(call, &movingEnd{})
	}}
	_, err := Run(t.Context(), Config{Guests: []*GuestSpec{faulty, caller}, Stdout: out, Stderr: out, Remote: remote,
		Backoff: Backoff{Waits: []time.Duration{0, time.Hour}}})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if movable != route.Stalled || stays != route.Ended {
		t.Errorf("while the service waited to start again, a call that can go elsewhere was %v, want stalled, and one that cannot %v, want ended\n%s",
			movable, stays, out.String())
	}
}

// pausingRemote is a fakeRemote that records, in order, when the host takes
// a local service out of the ways calls reach it from other processes and
// puts it back (route.Pauser).
type pausingRemote struct {
	fakeRemote
	mu   sync.Mutex
	said []string
}

func (r *pausingRemote) Pause(guest string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.said = append(r.said, "pause "+guest)
}

func (r *pausingRemote) Resume(guest string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.said = append(r.said, "resume "+guest)
	return nil
}

// A service that fails leaves the ways calls reach it from other
// processes (a split-mode replica leaves its queue groups: the other
// replicas take the calls meanwhile), and comes back once ready again,
// after each restart; down for good, it stays out.
func TestAServiceDownTakesNoCallsFromOtherProcessesUntilReadyAgain(t *testing.T) {
	faulty := &GuestSpec{Name: "faulty", Kind: Service, Wasm: wasm(t, "faulty"), Implements: []string{"test.Faulty"},
		MethodTimeout: time.Minute, Restart: RestartOnFailure}
	caller := &GuestSpec{Name: "faultcaller", Kind: Program, Wasm: wasm(t, "faultcaller"), Requires: []string{"faulty"},
		Env: []string{"FAULT=Panic", "TIMES=5"}}
	remote := &pausingRemote{fakeRemote: fakeRemote{local: make(chan route.Endpoint, 1), ready: make(chan struct{})}}
	var out syncbuf.Buffer
	if _, err := Run(t.Context(), Config{Guests: []*GuestSpec{faulty, caller}, Stdout: &out, Stderr: &out, Remote: remote,
		Backoff: Backoff{Waits: []time.Duration{0}}}); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	remote.mu.Lock()
	defer remote.mu.Unlock()
	// The first start is served by Ready (no resume); three restarts, then
	// down for good.
	want := "resume faulty, pause faulty, resume faulty, pause faulty, resume faulty, pause faulty, resume faulty, pause faulty"
	if got := strings.Join(remote.said, ", "); got != want {
		t.Errorf("the host said %q, want %q\n%s", got, want, out.String())
	}
}
