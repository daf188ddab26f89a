package split

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/lines"
)

// TestReplicasToldToStopLoseNoCall stops a replica of a busy service 20
// times, starting a new one each time, while programs keep calling it: a
// replica told to stop stops taking calls, answers those it has, and only
// then ends, so no call fails. The replicas are hosts in this process
// (split.RunChild, as the topology-test harness runs them); cancelling one's
// context is what SIGTERM does to a child process.
func TestReplicasToldToStopLoseNoCall(t *testing.T) {
	const stops = 20
	dir := filepath.Dir(testGuests(t, 1)[0].Wasm)
	guests := []*host.GuestSpec{
		{Name: "echo", Kind: host.Service, Wasm: filepath.Join(dir, "echo.wasm"), Implements: []string{"test.Echo"},
			MethodTimeout: time.Minute, Replicas: 3},
		{Name: "loader", Kind: host.Program, Wasm: filepath.Join(dir, "loader.wasm"), Requires: []string{"echo"},
			Env: []string{"LOAD_N=2000", "LOAD_DEPTH=4", "LOAD_SMALL=1"}},
	}
	srv, err := StartServer("test", guests)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()

	type replica struct {
		stop  context.CancelFunc
		ready chan struct{}
		done  chan error // how its run ended
	}
	var out lines.Buffer
	sink := lines.NewSink(&out)
	started := 0
	startReplica := func() *replica {
		started++
		ctx, cancel := context.WithCancel(context.Background())
		r := &replica{stop: cancel, ready: make(chan struct{}), done: make(chan error, 1)}
		w := sink.Writer(fmt.Sprintf("echo#%d | ", started))
		go func() {
			res, err := RunChild(ctx, ChildOptions{App: "test", Guests: guests, Name: "echo", Conn: srv.Conn("echo"), Stdout: w, Stderr: w,
				Ready: func() { close(r.ready) }})
			if err == nil && len(res.Failures) > 0 {
				err = fmt.Errorf("failures %v", res.Failures)
			}
			r.done <- err
		}()
		return r
	}
	replicas := []*replica{startReplica(), startReplica(), startReplica()}
	defer func() {
		for _, r := range replicas {
			r.stop()
		}
	}()
	for _, r := range replicas {
		<-r.ready
	}

	// Programs, one after another, until the stops are over.
	stopped := make(chan struct{})
	var summaries []string
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		for i := 0; ; i++ {
			var lo lines.Buffer
			res, err := RunChild(context.Background(), ChildOptions{App: "test", Guests: guests, Name: "loader", Conn: srv.Conn("loader"), Stdout: &lo, Stderr: &lo})
			if err != nil || res.ExitCode != 0 {
				summaries = append(summaries, fmt.Sprintf("loader %d: %v, exit %d: %s", i, err, res.ExitCode, lo.String()))
			} else {
				summaries = append(summaries, strings.TrimSpace(lo.String()))
			}
			select {
			case <-stopped:
				return
			default:
			}
		}
	}()

	for i := range stops {
		fresh := startReplica()
		<-fresh.ready
		time.Sleep(100 * time.Millisecond) // under load
		old := replicas[0]
		replicas = append(replicas[1:], fresh)
		old.stop()
		if err := <-old.done; err != nil {
			t.Errorf("stop %d: the replica ended with %v, want a clean stop", i+1, err)
		}
	}
	close(stopped)
	<-loaded
	for _, s := range summaries {
		if !strings.Contains(s, "calls=2000 ok=2000 failed=0 mismatched=0 duplicated=0") {
			t.Errorf("a program lost calls while replicas stopped: %s", s)
		}
	}
	t.Logf("%d programs ran while %d replicas stopped", len(summaries), stops)
}

// TestASignalledReplicaStopsCleanlyAndIsNotRestarted sends SIGTERM to one
// replica's process during a run, as an operator scaling down would: its
// calls are finished, the run goes on with the other, and the stop is
// neither a failure nor a reason to restart it.
//
// The signal goes once both replicas have been ready and a few calls
// went: the ticker starts once one replica is ready, and one stopped
// while the other still starts leaves the service no replica to call,
// whose calls fail with unavailable at once, as they should.
func TestASignalledReplicaStopsCleanlyAndIsNotRestarted(t *testing.T) {
	guests := testGuests(t, 2)
	guests[0].Restart = host.RestartOnFailure
	var (
		mu    sync.Mutex
		pid   int
		ready atomic.Bool // both replicas have been ready
		calls int         // calls that went well
		once  sync.Once
	)
	res, out, errOut, err := superviseWith(t, guests, Options{
		Started: func(label string, p int) {
			if label == "echo#2" {
				mu.Lock()
				pid = p
				mu.Unlock()
			}
		},
		ServicesReady: func([]string) { ready.Store(true) },
	}, func(p []byte) {
		mu.Lock()
		defer mu.Unlock()
		calls += bytes.Count(p, []byte("ticker | call "))
		if calls >= 3 && ready.Load() { // a few calls in
			once.Do(func() { syscall.Kill(pid, syscall.SIGTERM) })
		}
	})
	if err != nil {
		t.Fatalf("Supervise: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	if !strings.Contains(out, "ticker | done: ok=40 failed=0") {
		t.Errorf("calls failed while a replica stopped:\n%s\nstderr:\n%s", out, errOut)
	}
	if res.ExitCode != 0 || len(res.Failures) != 0 {
		t.Errorf("exit %d, failures %v: want a clean run", res.ExitCode, res.Failures)
	}
	if !strings.Contains(errOut, "parigot: service echo#2 stopped when told to, after finishing its calls; it is not restarted") {
		t.Errorf("the stop was not reported as a clean one:\n%s", errOut)
	}
	if strings.Contains(errOut, "restarting") {
		t.Errorf("the stopped replica was restarted:\n%s", errOut)
	}
}

// TestACallerThatKnowsOnlyADrainingReplicaCallsTheOtherOverNATS: a caller
// connected directly to echo#2 alone (echo#1 takes its calls over NATS
// only, and offers none) loses it as it drains: its goaway sends the
// caller's calls through the NATS server, where echo#1 takes them, and
// none fails.
func TestACallerThatKnowsOnlyADrainingReplicaCallsTheOtherOverNATS(t *testing.T) {
	srv := startIdentityServer(t)
	draining := serveFake(t, srv, &fakeService{name: "echo#2"})
	caller := callerAs(t, srv, "ticker")
	waitFor(t, "the caller to connect to echo#2", func() bool { return known(caller, "echo") == 1 })
	other := NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo")
	other.natsOnly = true
	serveOn(t, other, &fakeService{name: "echo#1"})

	draining.StopServing()
	if n := known(caller, "echo"); n != 0 {
		t.Fatalf("the caller still knows %d replicas directly after the goaway", n)
	}
	if served := servedBy(t, caller, 5); served["echo#1"] != 5 {
		t.Errorf("calls served %v, want all 5 by echo#1", served)
	}
}

// servedBy makes calls of echo from caller, one after another, and
// reports how many each replica served (by the name its reply starts
// with; a failure's message counts under a name no replica has).
func servedBy(t *testing.T, caller *Network, calls int) map[string]int {
	t.Helper()
	got := make(replies, 1)
	served := map[string]int{}
	for i := range uint64(calls) {
		caller.Service("test.Echo").Deliver(call(i, "x"), got)
		name, _, _ := strings.Cut(string(got.next(t).Payload), ":")
		served[name]++
	}
	return served
}
