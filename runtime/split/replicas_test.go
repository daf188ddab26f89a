package split

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/internal/syncbuf"
	"parigot.dev/parigot/runtime/host"
)

// A replica whose guest is not ready yet (still in its Ready method: one
// restarted by the supervisor while the others serve, say) takes no call:
// callers over NATS and over direct connections reach the replica that is
// ready, and the other one takes its share once it is ready too.
func TestAReplicaTakesNoCallUntilItIsReady(t *testing.T) {
	srv := startIdentityServer(t)
	serveFake(t, srv, &fakeService{name: "ready"})
	warming := NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo")
	t.Cleanup(func() { warming.Close() })
	if err := warming.Serve("echo", []string{"test.Echo"}, &fakeService{name: "warming"}); err != nil {
		t.Fatal(err)
	}
	overNATS := NewNetwork(connectAs(t, srv, "ticker"), "test", identityGuests(), "ticker")
	overNATS.natsOnly = true
	callerWhenReady(t, overNATS)
	direct := callerAs(t, srv, "tocker")
	// The direct caller asks for an offer again, a second apart, while it
	// knows fewer replicas than echo declares: enough requests that the
	// queue group would have handed one to the replica not yet ready (or
	// until it knows both).
	waitFor(t, "requests for offers", func() bool { return direct.client.asked.Load() >= 6 || known(direct, "echo") == 2 })
	askedFlushed(t, direct)
	for _, c := range []struct {
		name   string
		caller *Network
	}{{"over NATS", overNATS}, {"over direct connections", direct}} {
		if who := answers(t, c.caller, 20); who["ready"] != 20 {
			t.Errorf("calls %s before the second replica was ready were answered by %v, want all 20 by the ready one", c.name, who)
		}
	}
	if err := warming.Ready("echo"); err != nil {
		t.Fatal(err)
	}
	if who := answers(t, overNATS, 20); who["warming"] == 0 {
		t.Errorf("once ready, the second replica took none of 20 calls over NATS: %v", who)
	}
}

// A replica that failed and starts again leaves its service's queue
// groups until it is ready again: calls over NATS (between machines, or
// with direct connections off) go to the other replica meanwhile, rather
// than to one that refuses them; once it is ready again it takes its
// share.
func TestAReplicaStartingAgainTakesNoCallOverNATS(t *testing.T) {
	srv := startIdentityServer(t)
	serveFake(t, srv, &fakeService{name: "steady"})
	restarting := serveFake(t, srv, &fakeService{name: "restarting"})
	overNATS := NewNetwork(connectAs(t, srv, "ticker"), "test", identityGuests(), "ticker")
	overNATS.natsOnly = true
	callerWhenReady(t, overNATS)
	restarting.Pause("echo")
	if subs := callSubs(t, srv); len(subs) != 1 {
		t.Errorf("once Pause returned, the NATS server had %d subscriptions to echo's calls, want the other replica's alone: a call sent now may reach the replica starting again", len(subs))
	}
	if !overNATS.Serving(t.Context(), "test.Echo") {
		t.Error("with one replica starting again and the other ready, echo is said not to be serving")
	}
	if who := answers(t, overNATS, 20); who["steady"] != 20 {
		t.Errorf("calls while one replica starts again were answered by %v, want all 20 by the other", who)
	}
	if err := restarting.Resume("echo"); err != nil {
		t.Fatal(err)
	}
	if who := answers(t, overNATS, 20); who["restarting"] == 0 {
		t.Errorf("once ready again, the replica took none of 20 calls over NATS: %v", who)
	}
}

// A service whose one replica starts again says it is not serving (a
// gateway's health check), until it is ready again.
func TestAServiceStartingAgainIsNotServingUntilReady(t *testing.T) {
	srv := startIdentityServer(t)
	only := serveFake(t, srv, &fakeService{name: "only"})
	probe := callerAs(t, srv, "ticker")
	if !probe.Serving(t.Context(), "test.Echo") {
		t.Fatal("a ready service is said not to be serving")
	}
	only.Pause("echo")
	if probe.Serving(t.Context(), "test.Echo") {
		t.Error("a service whose one replica starts again is said to be serving")
	}
	if err := only.Resume("echo"); err != nil {
		t.Fatal(err)
	}
	if !probe.Serving(t.Context(), "test.Echo") {
		t.Error("a service ready again is said not to be serving")
	}
}

// A service restarts at most three times in a run, whatever its replicas:
// split mode counts the restarts of all of them together, as single mode
// counts those of its one copy; and each restart waits as that restart of
// the service does (the backoff the run is given reaches the children),
// whichever replica it is.
func TestTheReplicasOfAServiceShareItsThreeRestarts(t *testing.T) {
	guests := func() []*host.GuestSpec {
		g := faultGuests(t, "Panic", time.Minute)
		g[0].Replicas, g[0].Restart = 2, host.RestartOnFailure
		g[1].Env = append(g[1].Env, "TIMES=5")
		return g
	}
	// Waits shorter than the second between the caller's calls; a run
	// however slow is not a healthy one.
	backoff := host.Backoff{Waits: []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond}, Healthy: patience}
	restart := regexp.MustCompile(`(?m)^parigot: service faulty(#[12])? panicked \(its stack trace is above\); restarting it (in [0-9a-z.]+ )?\(([0-9]) of 3\)$`)
	for _, m := range bothModesWith(t, guests, backoff) {
		var got []string
		for _, l := range restart.FindAllStringSubmatch(m.stdout+m.more, -1) {
			got = append(got, l[2]+"("+l[3]+")")
		}
		if want := "(1) in 100ms (2) in 200ms (3)"; strings.Join(got, " ") != want {
			t.Errorf("%s mode: five panics were restarts %q, want %q\noutput:\n%s%s", m.mode, strings.Join(got, " "), want, m.stdout, m.more)
		}
	}
}

// A replica killed and started again that cannot start its guest (its
// module gone from disk, say) is a failed restart of that replica: said
// as such, counted, and the replica is down for good once the service has
// used its restarts, while the run goes on until its program ends.
func TestAReplicaThatCannotStartAgainLeavesTheRunGoing(t *testing.T) {
	guests := testGuests(t, 2)
	guests[0].Restart = host.RestartOnFailure
	// A copy of the module of its own, which the test removes.
	wasm := filepath.Join(t.TempDir(), "echo.wasm")
	module, err := os.ReadFile(guests[0].Wasm)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wasm, module, 0o644); err != nil {
		t.Fatal(err)
	}
	guests[0].Wasm = wasm
	var pid atomic.Int64
	var once sync.Once
	// Its restarts wait, as the supervisor says, but briefly: all three
	// come while the program runs.
	backoff := host.Backoff{Waits: []time.Duration{0, time.Millisecond, 2 * time.Millisecond}, Healthy: patience}
	res, out, errOut, err := superviseWith(t, guests, Options{Backoff: backoff,
		Started: func(label string, p int) {
			if label == "echo#2" {
				pid.Store(int64(p))
			}
		}}, func(p []byte) {
		if bytes.Contains(p, []byte("ticker | call 2: ok")) {
			once.Do(func() {
				os.Remove(wasm)
				syscall.Kill(int(pid.Load()), syscall.SIGKILL)
			})
		}
	})
	if err != nil || res.ExitCode != 0 || !strings.Contains(out, "ticker | done: ") {
		t.Fatalf("err %v, exit %d; want the program to run to its end, and its exit code\nstdout:\n%s\nstderr:\n%s", err, res.ExitCode, out, errOut)
	}
	notStarted := `parigot: service echo#2 could not start again: .*` + regexp.QuoteMeta(wasm) + `.*`
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^parigot: service echo#2 was killed \(signal: killed\); restarting it \(1 of 3\)$`),
		regexp.MustCompile(`(?m)^` + notStarted + `; restarting it in 1ms \(2 of 3\)$`),
		regexp.MustCompile(`(?m)^` + notStarted + `; restarting it in 2ms \(3 of 3\)$`),
		regexp.MustCompile(`(?m)^` + notStarted + `; it is down for the rest of the run, and its service's calls go to its other replicas while any serves$`),
	} {
		if !want.MatchString(errOut) {
			t.Errorf("stderr lacks a line matching %s:\n%s", want, errOut)
		}
	}
}

// A NATS server that cannot be reached for longer than the restarts' waits
// does not use up the restarts of a replica killed meanwhile: the start
// that fails only because the server cannot be reached is no restart. The
// supervisor says once that the replica waits for the server, and what to
// check; once the server is back (a real nats-server, stopped and started
// again on its address) the replica starts again and serves, having used
// one restart, for its kill.
func TestAReplicaWaitsForItsNATSServerWithoutUsingUpItsRestarts(t *testing.T) {
	guests := testGuests(t, 2)[:1] // two echo replicas: a run that serves until stopped
	guests[0].Restart = host.RestartOnFailure
	ns := startConfiguredServer(t, "")
	url, port := ns.ClientURL(), ns.Addr().(*net.TCPAddr).Port
	// The test's own connection, which asks each replica whether it is
	// ready, and reconnects to the server started again.
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var errOut syncbuf.Buffer // what the run has said so far
	saying := func(text ...string) func() bool {
		return func() bool {
			for _, s := range text {
				if strings.Contains(errOut.String(), s) {
					return true
				}
			}
			return false
		}
	}
	const (
		waits  = "parigot: the NATS server at "
		failed = "could not start again"
		down   = "down for the rest of the run"
	)
	var pid atomic.Int64
	ctx, cancel := context.WithCancel(t.Context())
	var problems []string // of the scenario, read once it has ended
	scenario := make(chan struct{})
	go func() {
		defer close(scenario)
		defer cancel() // the run serves until then
		step := func(what string, done func() bool) bool {
			if !eventually(ctx, done) {
				problems = append(problems, "gave up waiting for "+what)
				return false
			}
			return true
		}
		if !step("both replicas to be ready", func() bool { return readyReplicas(nc, "echo") == 2 }) {
			return
		}
		ns.Shutdown()
		syscall.Kill(int(pid.Load()), syscall.SIGKILL)
		if !step("the run to say what the killed replica does", saying(waits, failed)) {
			return
		}
		again, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true, MaxPayload: MaxPayload})
		if err != nil {
			problems = append(problems, err.Error())
			return
		}
		go again.Start()
		defer again.Shutdown()
		if !again.ReadyForConnections(patience) {
			problems = append(problems, "the NATS server did not start again")
			return
		}
		step("both replicas to be ready again", func() bool { return readyReplicas(nc, "echo") == 2 || saying(down)() })
	}()
	_, out, _, err := superviseWatching(ctx, t, guests, Options{Conn: Conn{URL: url},
		Started: func(label string, p int) {
			if label == "echo#2" {
				pid.Store(int64(p))
			}
		}}, nil, func(p []byte) { errOut.Write(p) })
	cancel()
	<-scenario
	said := errOut.String()
	if !errors.Is(err, context.Canceled) || len(problems) > 0 {
		t.Fatalf("err %v (want the test's end of the run), %q\nstdout:\n%s\nstderr:\n%s", err, problems, out, said)
	}
	for _, want := range []string{
		"parigot: service echo#2 was killed (signal: killed); restarting it (1 of 3)\n",
		"parigot: the NATS server at " + url + " cannot be reached: service echo#2 starts again once it can, and this failed start is not counted as a restart (check that the NATS server is up and reachable from here)\n",
		"parigot: the NATS server at " + url + " can be reached again: starting service echo#2 again\n",
	} {
		if n := strings.Count(said, want); n != 1 {
			t.Errorf("stderr has %d times, want once:\n\t%s\nstderr:\n%s", n, want, said)
		}
	}
	for _, not := range []string{failed, "restarting it in", down} {
		if strings.Contains(said, not) {
			t.Errorf("stderr has %q: the outage counted as restarts of the replica\n%s", not, said)
		}
	}
}

// readyReplicas is how many replicas of guest answer a readiness check
// (each answers its own) over nc before they fall silent for a moment.
func readyReplicas(nc *nats.Conn, guest string) int {
	sub, err := nc.SubscribeSync(nats.NewInbox())
	if err != nil {
		return 0
	}
	defer sub.Unsubscribe()
	if nc.PublishRequest(subjects{"test"}.ready(guest), sub.Subject, nil) != nil {
		return 0
	}
	n := 0
	for ; ; n++ {
		if _, err := sub.NextMsg(200 * time.Millisecond); err != nil {
			return n
		}
	}
}

// eventually reports whether cond holds within patience, and before ctx
// ends, asking it again and again: waitFor for a goroutine other than the
// test's.
func eventually(ctx context.Context, cond func() bool) bool {
	for deadline := time.Now().Add(patience); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
	}
	return true
}

// The host's line about a method over its budget names the replica, as
// the lines of its restarts do.
func TestAnOverrunNamesTheReplica(t *testing.T) {
	guests := faultGuests(t, "Spin", 200*time.Millisecond)
	guests[0].Replicas = 2
	_, out, errOut := supervise(t, guests, nil, nil)
	said := regexp.MustCompile(`(?m)^parigot: service faulty#[12]: method test.Faulty/Spin ran for [0-9.]+m?s, over its budget of 200ms; stopping it\. A method that needs longer: `)
	if !said.MatchString(errOut) {
		t.Errorf("stderr lacks a line matching %s:\n%s%s", said, out, errOut)
	}
}

// A caller that knows fewer replicas than the manifest declares asks for
// offers again soon, then less and less often: an app's replicas become
// ready within moments of each other, and until the caller knows one, it
// takes none of the caller's calls.
func TestACallerLooksForMissingReplicasSoonThenLessOften(t *testing.T) {
	var waits []time.Duration
	for wait := discoverFirst; len(waits) < 7; wait = discoverAfter(wait) {
		waits = append(waits, wait)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second, time.Second}
	if !slices.Equal(waits, want) {
		t.Errorf("the waits between asks for offers: %v, want %v", waits, want)
	}
}

// A replica stuck in a method that never returns, then stopped and
// restarted by its host, takes none of the calls that follow: while the
// other replica is ready, those calls are all answered by it, rather than
// wait behind the stuck method or fail while the replica starts again.
// Only the call that looped fails (at its deadline). (The caller knows
// both replicas by then: it calls until each has answered. One that knows
// a single replica sends it every call, as it must.)
func TestCallsGoToTheReplicaThatIsNotStuck(t *testing.T) {
	guests := testGuests(t, 2)
	echo := guests[0]
	echo.MethodTimeout = 300 * time.Millisecond
	echo.Restart = host.RestartOnFailure
	caller := &host.GuestSpec{Name: "stuckcaller", Kind: host.Program, Wasm: filepath.Join(filepath.Dir(echo.Wasm), "caller.wasm"), Requires: []string{"echo"}}
	res, out, errOut := supervise(t, []*host.GuestSpec{echo, caller}, nil, nil)
	overrun := regexp.MustCompile(`(?m)^parigot: service echo#[12]: method test.Echo/Spin ran for [0-9.]+m?s, over its budget of 300ms; stopping it\. A method that needs longer: `)
	if !overrun.MatchString(errOut) {
		t.Fatalf("no replica overran in Spin; the test shows nothing:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
	if want := "stuckcaller | Spin: test.Echo/Spin: deadline exceeded: no reply from service echo within its method budget of 300ms\n"; !strings.Contains(out, want) {
		t.Errorf("stdout lacks %q:\n%s", want, out)
	}
	answered := regexp.MustCompile(`(?m)^stuckcaller \| Who [0-9]+: ok [0-9a-f]{16}$`)
	if n := len(answered.FindAllString(out, -1)); n != 40 {
		failed := regexp.MustCompile(`(?m)^stuckcaller \| Who [0-9]+: .*: .*$`).FindAllString(out, -1)
		t.Errorf("%d of 40 calls made while one replica was stuck were answered; failed:\n\t%s\nstdout:\n%s\nstderr:\n%s",
			n, strings.Join(failed, "\n\t"), out, errOut)
	}
	if res.ExitCode != 0 {
		t.Errorf("exit %d, want 0", res.ExitCode)
	}
}

// The replicas of a service compile the same module at the same moment, on
// the same machine: what the compilation takes is said once for the
// service, not once by each replica's process.
func TestAServiceCompilingIsSaidOnceWhateverItsReplicas(t *testing.T) {
	skipUnderRace(t)
	guests := testGuests(t, 2)
	t.Setenv("PARIGOT_CACHE_DIR", t.TempDir()) // the children's too: nothing compiled yet
	_, out, errOut := supervise(t, guests, nil, nil)
	compiled := regexp.MustCompile(`(?m)^parigot: compiled service echo(#[12])? to native code \([0-9.]+m?s\)$`)
	switch n := len(compiled.FindAllString(errOut, -1)); {
	case n > 1:
		t.Errorf("the service's compilation was said %d times, want once:\nstdout:\n%s\nstderr:\n%s", n, out, errOut)
	case n == 0: // a machine fast enough that it is not worth saying
		t.Skipf("compiling the service took too little time to be said:\n%s", errOut)
	}
}
