package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parigot.dev/parigot/internal/testguest"
)

func TestMain(m *testing.M) { testguest.Main(m) }

// guestWasm builds the test guests in testdata/guests once per test binary.
var guestWasm = sync.OnceValues(func() (string, error) {
	pkgs := map[string]string{}
	for _, name := range []string{"echo", "caller", "evil", "crash", "bench", "loader", "faulty", "faultcaller", "flood", "cruncher", "stateful", "flaky", "poison", "chain", "web", "forgetful"} {
		pkgs[name] = "./testdata/guests/" + name
	}
	return testguest.Build(pkgs)
})

func wasm(t *testing.T, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds wasm guests")
	}
	dir, err := guestWasm()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name+".wasm")
}

// echoService is the echo test service with a 250ms budget; overruns are
// only reported, so that its Slow method shows a caller's deadline.
func echoService(t *testing.T) *GuestSpec {
	return &GuestSpec{Name: "echo", Kind: Service, Wasm: wasm(t, "echo"), Implements: []string{"test.Echo"},
		MethodTimeout: 250 * time.Millisecond, Overrun: OverrunReport}
}

// patience is how long a test waits for something that must happen: so
// long that no busy machine reaches it (compiling guests included), so that
// reaching it means the thing never happens. A run as a whole has no bound
// but go test's -timeout.
const patience = 2 * time.Minute

// runApp runs guests and returns what they printed.
func runApp(t *testing.T, guests ...*GuestSpec) (Result, string) {
	t.Helper()
	var out bytes.Buffer
	res, err := Run(t.Context(), Config{Guests: guests, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("Run: %v\noutput:\n%s", err, out.String())
	}
	return res, out.String()
}

func TestEveryCallCompletesOnceWithTheRightOutcome(t *testing.T) {
	caller := &GuestSpec{Name: "caller", Kind: Program, Wasm: wasm(t, "caller"), Requires: []string{"echo"}}
	res, out := runApp(t, echoService(t), caller)
	if res.ExitCode != 0 {
		t.Errorf("exit code %d, want 0; output:\n%s", res.ExitCode, out)
	}
	want := []string{
		"caller | locate missing: parigot: cannot locate test.Nobody: no service in parigot.hcl implements it",
		"caller | Echo: ok 2 bytes, intact=true",
		"caller | Fail: test.Echo/Fail: unknown: the echo service refuses",
		"caller | Missing: test.Echo/Missing: unimplemented: test.Echo has no method Missing in this build of the service: its caller was built from a .proto that declares it; build every machine of the app from the same sources",
		"caller | Echo: ok 1048576 bytes, intact=true",
		"caller | Never: test.Echo/Never: deadline exceeded: no reply from service echo within its method budget of 250ms",
		"caller | Slow: test.Echo/Slow: deadline exceeded: no reply from service echo within its method budget of 250ms",
		"caller | Echo: test.Echo/Echo: resource exhausted: request of 5242885 bytes is larger than the 4194304-byte limit",
	}
	assertLines(t, out, want)
}

// A call of each kind of message the stubs encode (an app's message with
// its fast methods, a well-known type through its twin's, a message
// protobuf-go encodes) makes its round trip in wasm, as the benchmark
// program makes it: it ends with code 2 on a reply of the wrong size.
func TestEveryKindOfMessageMakesItsRoundTrip(t *testing.T) {
	for _, method := range []string{"EchoFast", "EchoKnown", "EchoProto"} {
		t.Run(method, func(t *testing.T) {
			bench := &GuestSpec{Name: "bench", Kind: Program, Wasm: wasm(t, "bench"), Requires: []string{"echo"},
				Env: []string{"BENCH_N=50", "BENCH_SIZE=100", "BENCH_CONC=4", "BENCH_METHOD=" + method}}
			res, out := runApp(t, echoService(t), bench)
			if res.ExitCode != 0 || !strings.Contains(out, "bench | calls=50 ") {
				t.Errorf("exit code %d, want 0 and 50 calls made; output:\n%s", res.ExitCode, out)
			}
		})
	}
}

func TestGarbageFromAGuestIsRefusedAndTheHostGoesOn(t *testing.T) {
	evil := &GuestSpec{Name: "evil", Kind: Program, Wasm: wasm(t, "evil"), Requires: []string{"echo"}}
	res, out := runApp(t, echoService(t), evil)
	if res.ExitCode != 0 || len(res.Failures) != 0 {
		t.Errorf("exit code %d, failures %v; output:\n%s", res.ExitCode, res.Failures, out)
	}
	assertLines(t, out, []string{
		"evil | locate far name: 1",
		"evil | locate huge length: 11",
		"evil | locate far out: 1",
		"evil | dispatch bad handle: 5",
		"evil | dispatch handle 0: 5",
		"evil | poll far buffer: 1",
		"evil | poll far size: 1",
		"evil | reply unknown call: 6",
		"evil | reply far payload: 1",
		"evil | export far: 1",
		"evil | export not implemented: 10",
		"evil | after the garbage: still fine",
	})
}

func TestACrashingServiceFailsItsCallersWithUnavailable(t *testing.T) {
	// A budget no machine reaches: calls that waited for their deadline
	// instead of failing when the service died would end with "deadline
	// exceeded", not "unavailable".
	crash := &GuestSpec{Name: "crash", Kind: Service, Wasm: wasm(t, "crash"), Implements: []string{"test.Crash"}, MethodTimeout: patience}
	caller := &GuestSpec{Name: "crashcaller", Kind: Program, Wasm: wasm(t, "caller"), Requires: []string{"crash"}}
	res, out := runApp(t, crash, caller)
	assertLines(t, out, []string{
		"crash       | panic: boom in a method",
		"crashcaller | Boom: test.Crash/Boom: unavailable: service crash panicked",
		"crashcaller | Boom: test.Crash/Boom: unavailable: service crash is not running",
	})
	if len(res.Failures) != 1 || !strings.Contains(res.Failures[0].String(), "service crash panicked") {
		t.Errorf("failures = %q, want the crash of service crash", res.Failures)
	}
}

func TestAProgramsExitCodeIsTheRunsExitCode(t *testing.T) {
	// The evil program exits 1 when it cannot locate echo: here it does not
	// require it.
	evil := &GuestSpec{Name: "evil", Kind: Program, Wasm: wasm(t, "evil")}
	res, out := runApp(t, echoService(t), evil)
	if res.ExitCode != 1 {
		t.Errorf("exit code %d, want 1; output:\n%s", res.ExitCode, out)
	}
	// The host says which service to add where, and the guest's error
	// says the same: a program that prints it, or a test that reads it,
	// names the fix.
	fix := "cannot locate test.Echo: service echo implements it; add service.echo to the requires of program evil in parigot.hcl"
	assertLines(t, out, []string{"parigot: evil: " + fix})
	assertLines(t, out, []string{"evil | locate: parigot: " + fix})
}

// A service exporting a proto service its implements does not list is
// told what to change in parigot.hcl: to list it, or, when another service
// implements it, to call that one rather than implement it twice.
func TestAnExportTheManifestRefusesSaysWhatToChange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		guests []*GuestSpec
		want   string
	}{
		{
			name:   "no service implements it",
			guests: []*GuestSpec{{Name: "echo", Kind: Service, Wasm: wasm(t, "echo")}},
			want:   "parigot: echo: cannot export test.Echo: add it to the implements of service echo in parigot.hcl",
		},
		{
			name: "another service implements it",
			guests: []*GuestSpec{
				echoService(t),
				{Name: "copy", Kind: Service, Wasm: wasm(t, "echo"), Requires: []string{"echo"}},
			},
			want: "parigot: copy: cannot export test.Echo: service echo implements it, and a proto service has one implementation; to use it, call it: locate it, with service.echo in the requires of service copy in parigot.hcl",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			res, err := Run(t.Context(), Config{Guests: tc.guests, Stdout: &out, Stderr: &out})
			if err == nil && len(res.Failures) == 0 {
				t.Fatalf("the run neither failed nor reported a failure; output:\n%s", out.String())
			}
			assertLines(t, out.String(), []string{tc.want})
			if n := strings.Count(out.String(), "cannot export test.Echo: add it") + strings.Count(out.String(), "cannot export test.Echo: service echo"); n != 1 {
				t.Errorf("the fix was said %d times, want once; output:\n%s", n, out.String())
			}
		})
	}
}

// A program whose main returns before guest.MustRunClient ends with 0
// having done nothing; the run says why. One that ends through ExitSelf
// (MustRunClient does, when nothing is left) is not told anything.
func TestAProgramThatNeverRanItsLoopIsToldSo(t *testing.T) {
	const note = "parigot: note: program faultcaller ended without guest.ExitSelf: if its main returned before guest.MustRunClient(), what it queued (LaunchClient's callback, its calls) never ran"
	for _, tc := range []struct {
		env  []string
		said bool
	}{
		{[]string{"LOOP=none"}, true},
		{[]string{"FAULT=Hello", "THEN=exit"}, false},
	} {
		faulty := &GuestSpec{Name: "faulty", Kind: Service, Wasm: wasm(t, "faulty"), Implements: []string{"test.Faulty"}, MethodTimeout: patience}
		caller := &GuestSpec{Name: "faultcaller", Kind: Program, Wasm: wasm(t, "faultcaller"), Requires: []string{"faulty"}, Env: tc.env}
		res, out := runApp(t, faulty, caller)
		if res.ExitCode != 0 {
			t.Errorf("%v: exit %d, want 0 (a note changes no exit code):\n%s", tc.env, res.ExitCode, out)
		}
		if got := strings.Contains(out, note); got != tc.said {
			t.Errorf("%v: the note said: %v, want %v; output:\n%s", tc.env, got, tc.said, out)
		}
	}
}

func TestAProgramThatNeverCallsMustRunClientIsToldSo(t *testing.T) {
	res, out := runApp(t, &GuestSpec{Name: "forgetful", Kind: Program, Wasm: wasm(t, "forgetful")})
	if res.ExitCode != 0 || strings.Contains(out, "never printed") {
		t.Errorf("exit %d, want 0 and the callback never run:\n%s", res.ExitCode, out)
	}
	if !strings.Contains(out, "parigot: note: program forgetful ended without guest.ExitSelf") {
		t.Errorf("the note is not said:\n%s", out)
	}
}

func TestAMissingWasmFileSaysToBuild(t *testing.T) {
	_, err := Run(context.Background(), Config{
		Guests: []*GuestSpec{{Name: "ghost", Kind: Program, Wasm: filepath.Join(t.TempDir(), "ghost.wasm")}},
		Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{},
	})
	if err == nil || !strings.Contains(err.Error(), "program ghost") || !strings.Contains(err.Error(), "parigot build") {
		t.Errorf("err = %v, want it to name the program and say to run parigot build", err)
	}
}

// assertLines checks that want appear in out, in that order.
func assertLines(t *testing.T, out string, want []string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	i := 0
	for _, l := range lines {
		if i < len(want) && strings.TrimRight(l, " ") == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("output lacks line %q (or has it out of order); output:\n%s", want[i], out)
	}
}

// stoppedIn matches the wasm stack trace of the echo service stopped in
// one of its closures (a method, a timer's callback) for an overrun: the
// frame under the host's yield is the guest's own code.
var stoppedIn = regexp.MustCompile(`(?m)^echo +\| module\[echo\] function\[_start\] failed: stopped by parigot: over its method budget.*\n^echo +\| wasm stack trace:\n^echo +\| \tparigot\.yield\(\) i32\n^echo +\| \t\.main\.main\.func[0-9.]+\(`)

// A service that keeps its calls waiting past its method budget is
// stopped, named with what it was doing and for how long, and restarted:
// a method that loops, one asleep in a host call (time.Sleep: WASI's
// poll_oneoff, which the host must wake), and code outside any method (a
// timer) while calls wait for it.
func TestAServiceOverItsBudgetIsStoppedAndRestarted(t *testing.T) {
	const deadline = "deadline exceeded: no reply from service echo within its method budget of 50ms"
	for _, c := range []struct {
		name, caller string
		lines        []string // the caller's, in order
		said, failed string   // in the host's line, and in the run's failure
		// where matches the stack trace that says where the guest's code
		// was (asleep: in its Go scheduler, which waits in the host).
		where *regexp.Regexp
	}{
		{"an endless method", "spincaller",
			[]string{"Spin: test.Echo/Spin: " + deadline},
			"parigot: service echo: method test.Echo/Spin ran for ", "service echo was stopped: method test.Echo/Spin ran for",
			stoppedIn},
		{"a method asleep in the host", "sleepcaller",
			[]string{"Sleep: test.Echo/Sleep: " + deadline},
			"parigot: service echo: method test.Echo/Sleep ran for ", "service echo was stopped: method test.Echo/Sleep ran for",
			regexp.MustCompile(`(?m)^echo +\| wasm stack trace:\n^echo +\| \tparigot\.yield\(\) i32\n^echo +\| \t\.runtime\.`)}, // in its scheduler, asleep
		{"a timer that loops while calls wait", "spinlatercaller",
			[]string{"SpinLater: ok 0 bytes, intact=true", "Echo while the timer loops: failed"},
			"parigot: service echo: it ran for ", "service echo was stopped: it ran for",
			stoppedIn},
	} {
		t.Run(c.name, func(t *testing.T) {
			echo := &GuestSpec{Name: "echo", Kind: Service, Wasm: wasm(t, "echo"), Implements: []string{"test.Echo"},
				MethodTimeout: 50 * time.Millisecond, Overrun: OverrunStop, Restart: RestartOnFailure}
			caller := &GuestSpec{Name: c.caller, Kind: Program, Wasm: wasm(t, "caller"), Requires: []string{"echo"}}
			res, out := runApp(t, echo, caller)
			var want []string
			for _, l := range append(c.lines, "Echo after restart: ok") {
				want = append(want, c.caller+" | "+l)
			}
			assertLines(t, out, want)
			if !strings.Contains(out, c.said) || !strings.Contains(out, "over its budget of 50ms; stopping it") && !strings.Contains(out, "over its method budget of 50ms; stopping it") {
				t.Errorf("the overrun was not reported with what the service did and for how long:\n%s", out)
			}
			if !c.where.MatchString(out) {
				t.Errorf("the output does not say where the service's code was (%s):\n%s", c.where, out)
			}
			if !strings.Contains(out, "raise the service's method_timeout in parigot.hcl") {
				t.Errorf("the overrun's line does not say what a method that needs longer can do:\n%s", out)
			}
			if !strings.Contains(out, "restarting it (1 of 3)") || strings.Contains(out, "abandoning") {
				t.Errorf("the service was not stopped and restarted:\n%s", out)
			}
			if res.ExitCode != 0 || len(res.Failures) != 1 || !strings.Contains(res.Failures[0].String(), c.failed) {
				t.Errorf("exit %d, failures %q; want 0 and the overrun", res.ExitCode, res.Failures)
			} else if !res.Failures[0].Said {
				t.Error("the failure the restart line said is not marked said: the run's summary would say it again")
			}
		})
	}
}

// A run whose restarts are counted elsewhere (a split-mode child's, by its
// supervisor, across the service's replicas) restarts a service as that
// count says: numbered from it, after the wait of that restart of the
// service (its third: a second, not the none of a first), and not once it
// says the service has used its restarts.
func TestRestartsCountedElsewhereAreTheRunsThree(t *testing.T) {
	echo := &GuestSpec{Name: "echo", Kind: Service, Wasm: wasm(t, "echo"), Implements: []string{"test.Echo"},
		MethodTimeout: 50 * time.Millisecond, Overrun: OverrunStop, Restart: RestartOnFailure}
	caller := &GuestSpec{Name: "spincaller", Kind: Program, Wasm: wasm(t, "caller"), Requires: []string{"echo"}}
	var out bytes.Buffer
	var told atomic.Int32
	_, err := Run(t.Context(), Config{Guests: []*GuestSpec{echo, caller}, Stdout: &out, Stderr: &out,
		Backoff: Backoff{Healthy: patience}, // the default waits, however slow the run
		Restart: func() (int, bool) {
			if told.Add(1) == 1 {
				return 3, true // two spent by other replicas
			}
			return 0, false
		}})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "restarting it in 1s (3 of 3)") || strings.Contains(out.String(), "(1 of 3)") {
		t.Errorf("the restart is not counted on from the two spent:\n%s", out.String())
	}
	if strings.Count(out.String(), "restarting it") != 1 {
		t.Errorf("restarted more than once:\n%s", out.String())
	}
}

func TestAGuestsCollectorKeepsItUnderItsMemoryLimit(t *testing.T) {
	// Churn keeps 32 MiB live and makes 256 MiB of garbage: the heap
	// would grow to twice what is live before a collection if the guest's
	// Go runtime did not know its limit.
	echo := &GuestSpec{Name: "echo", Kind: Service, Wasm: wasm(t, "echo"), Implements: []string{"test.Echo"},
		MethodTimeout: patience, MemoryLimit: 64 << 20}
	caller := &GuestSpec{Name: "churncaller", Kind: Program, Wasm: wasm(t, "caller"), Requires: []string{"echo"}}
	res, out := runApp(t, echo, caller)
	assertLines(t, out, []string{"churncaller | Churn: ok 0 bytes, intact=true"})
	if len(res.Failures) != 0 {
		t.Errorf("failures = %q, want none", res.Failures)
	}
}

// A service answering calls of megabytes, which it keeps none of, keeps
// answering: what its calls leave behind is garbage, which its collector
// takes back before it reaches the service's memory limit. Thirty calls
// of 3 MB each way are 180 MB, nearly three times a 64 MiB limit.
func TestAServiceAnsweringLargeCallsKeepsUnderItsMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		caller string
		limit  uint64
		size   int
	}{
		{"with replies of 3 MB", "largecaller", 64 << 20, 3_000_000},
		{"with requests and replies of 3 MB", "largeechocaller", 64 << 20, 3_000_000},
		{"with replies of 2 MB under a 24 MiB limit", "largecaller", 24 << 20, 2 << 20},
		{"with requests and replies of 1 MiB under the smallest limit", "largeechocaller", 16 << 20, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			echo := &GuestSpec{Name: "echo", Kind: Service, Wasm: wasm(t, "echo"), Implements: []string{"test.Echo"},
				MethodTimeout: patience, MemoryLimit: tc.limit}
			caller := &GuestSpec{Name: tc.caller, Kind: Program, Wasm: wasm(t, "caller"), Requires: []string{"echo"},
				Env: []string{fmt.Sprintf("LARGE_SIZE=%d", tc.size)}}
			res, out := runApp(t, echo, caller)
			method := map[string]string{"largecaller": "Large", "largeechocaller": "EchoKnown"}[tc.caller]
			assertLines(t, out, []string{fmt.Sprintf("%s | %s: 30 replies of %d bytes", tc.caller, method, tc.size)})
			if len(res.Failures) != 0 || strings.Contains(out, "ran out of memory") {
				t.Errorf("failures = %q, want none; output:\n%s", res.Failures, out)
			}
		})
	}
}

func TestAGuestOverItsMemoryLimitIsReportedAndContained(t *testing.T) {
	// A budget no machine reaches: a busy one, or the race detector, may
	// take more than seconds to fill 64 MiB, and the call must end with the
	// crash, not its deadline.
	echo := &GuestSpec{Name: "echo", Kind: Service, Wasm: wasm(t, "echo"), Implements: []string{"test.Echo"},
		MethodTimeout: patience, MemoryLimit: 64 << 20}
	caller := &GuestSpec{Name: "hogcaller", Kind: Program, Wasm: wasm(t, "caller"), Requires: []string{"echo"}}
	res, out := runApp(t, echo, caller)
	assertLines(t, out, []string{"hogcaller | Hog: test.Echo/Hog: unavailable: service echo ran out of memory (its limit is 64 MiB)"})
	if len(res.Failures) != 1 || !strings.Contains(res.Failures[0].String(), "ran out of memory") {
		t.Errorf("failures = %q, want the out-of-memory named", res.Failures)
	}
}

func TestAGuestsCollectorIsToldItsMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec GuestSpec
		want []string
	}{
		{"the default limit", GuestSpec{Env: []string{"A=1"}},
			[]string{"A=1", "GOMEMLIMIT=201326592", "GOGC=400"}},
		{"a limit of 64 MiB", GuestSpec{MemoryLimit: 64 << 20},
			[]string{"GOMEMLIMIT=50331648", "GOGC=400"}},
		{"a limit of 32 MiB", GuestSpec{MemoryLimit: 32 << 20},
			[]string{"GOMEMLIMIT=25165824", "GOGC=200"}},
		{"a limit of 24 MiB", GuestSpec{MemoryLimit: 24 << 20},
			[]string{"GOMEMLIMIT=18874368", "GOGC=150"}},
		{"the smallest limit", GuestSpec{MemoryLimit: 16 << 20},
			[]string{"GOMEMLIMIT=12582912", "GOGC=100"}},
		{"a spec's own settings", GuestSpec{Env: []string{"GOGC=50", "GOMEMLIMIT=1MiB"}},
			[]string{"GOGC=50", "GOMEMLIMIT=1MiB"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := guestEnv(&tc.spec); !slices.Equal(got, tc.want) {
				t.Errorf("guestEnv = %q, want %q", got, tc.want)
			}
		})
	}
}

// A service not ready in time is named as the replica it is, and the
// message says where it is stuck: in its Ready method (it had exported its
// services, which its serving function does before it calls Ready), or
// before its main calls the function that serves.
func TestAServiceNotReadyInTimeSaysWhereItIsStuck(t *testing.T) {
	chain := wasm(t, "chain")
	dir, err := reloadWasm()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		spec *GuestSpec
		want string
	}{
		{"in its Ready method", &GuestSpec{Name: "work", Kind: Service, Wasm: chain, Implements: []string{"test.Chain"},
			Env: []string{"CHAIN_SERVE=test.Chain", "CHAIN_READY=hang"}, MethodTimeout: time.Second},
			"service work#2 did not become ready within 2s: its Ready method has not returned"},
		{"before it serves", &GuestSpec{Name: "work", Kind: Service, Wasm: filepath.Join(dir, "noready.wasm"), Implements: []string{"test.Chain"},
			MethodTimeout: time.Second},
			"service work#2 did not become ready within 2s: its main has not called RunChain (generated) or guest.Run"},
	} {
		t.Run("a replica stuck "+c.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := Run(t.Context(), Config{Guests: []*GuestSpec{c.spec}, Stdout: &out, Stderr: &out, Replica: 2, ReadyTimeout: 2 * time.Second})
			var se *StartError
			if !errors.As(err, &se) || se.Problem != NotReadyInTime {
				t.Fatalf("Run: %v, want a service not ready in time\n%s", err, out.String())
			}
			if err.Error() != c.want {
				t.Errorf("got  %s\nwant %s", err, c.want)
			}
		})
	}
}
