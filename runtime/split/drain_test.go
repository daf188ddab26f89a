package split

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
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
// calls are finished, the run goes on with the others, and the stop is
// neither a failure nor a reason to restart it.
func TestASignalledReplicaStopsCleanlyAndIsNotRestarted(t *testing.T) {
	guests := testGuests(t, 2)
	guests[0].Restart = host.RestartOnFailure
	var (
		mu   sync.Mutex
		pid  int
		once sync.Once
	)
	res, out, errOut := supervise(t, guests, func(label string, p int) {
		if label == "echo#2" {
			mu.Lock()
			pid = p
			mu.Unlock()
		}
	}, func(p []byte) {
		if bytes.Contains(p, []byte("ticker | call 3: ok")) { // a few calls in
			once.Do(func() {
				mu.Lock()
				defer mu.Unlock()
				syscall.Kill(pid, syscall.SIGTERM)
			})
		}
	})
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
