package split

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/runtime/host"
)

// A service process killed while thousands of calls to it are in flight
// fails each of them with unavailable as soon as its caller's process can
// know (its direct connection closes), and every call made while it starts
// again fails at once the same way: none waits for its deadline, which is
// so long that no busy machine reaches it. The NATS server learns of the
// death on its own, moments after the caller: a call sent through it in
// between went to the dead process and waited for its deadline. Killed
// three times, each time while it serves, so that one of the kills is
// likely to fall in that moment.
func TestCallsInFlightToAKilledServiceFailAtOnceNotAtTheirDeadline(t *testing.T) {
	guests := testGuests(t, 1)
	echo := guests[0]
	echo.MethodTimeout = time.Minute
	echo.Restart = host.RestartOnFailure
	echo.InboxCalls = 50_000
	rounds := &host.GuestSpec{Name: "rounds", Kind: host.Program, Wasm: filepath.Join(filepath.Dir(echo.Wasm), "rounds.wasm"),
		Requires: []string{"echo"}, Env: []string{"ROUNDS_N=30", "ROUNDS_CALLS=5000"}, Replicas: 1}
	var mu sync.Mutex
	pid, kills := 0, 0
	backoff := host.Backoff{Waits: []time.Duration{0}, Healthy: patience}
	res, out, errOut, err := superviseWith(t, []*host.GuestSpec{echo, rounds}, Options{Backoff: backoff,
		Started: func(label string, p int) {
			if label == "echo" {
				mu.Lock()
				pid = p
				mu.Unlock()
			}
		}}, func(p []byte) {
		// A round all of whose calls were answered says the service
		// serves; the next round is in flight by the time it is said.
		if bytes.Contains(p, []byte(": 5000 ok\n")) && bytes.Contains(p, []byte("rounds | round ")) {
			mu.Lock()
			if kills < 3 {
				kills++
				syscall.Kill(pid, syscall.SIGKILL)
			}
			mu.Unlock()
		}
	})
	if err != nil || res.ExitCode != 0 || !strings.Contains(out, "rounds | done\n") {
		t.Fatalf("err %v, exit %d; want every round to end\nstdout:\n%s\nstderr:\n%s", err, res.ExitCode, out, errOut)
	}
	said := strings.Join(regexp.MustCompile(`(?m)^rounds \| round [0-9]+: .*$`).FindAllString(out, -1), "\n")
	t.Logf("killed %d times:\n%s", kills, said)
	if !strings.Contains(out, "unavailable: service echo is not running") {
		t.Errorf("no call failed with unavailable: the kills came after the rounds\n%s", said)
	}
	if strings.Contains(out, "deadline exceeded") {
		t.Errorf("calls to the killed service waited for their deadline:\n%s\nstderr:\n%s", said, errOut)
	}
}

// A service process killed from outside, which cannot remove the
// directory of its direct-connection socket, leaves none behind: the
// supervisor removes it once the process has ended, so that a run that
// restarts its processes again and again (each restart out of the
// restarts' window) keeps as many socket directories as it has
// processes. Measured where the run keeps them, after each kill, once
// both replicas are ready again.
func TestAKilledProcessLeavesNoSocketDirectoryBehind(t *testing.T) {
	guests := testGuests(t, 2)[:1] // two echo replicas: a run that serves until stopped; built before TMPDIR changes
	// The run's temporary directory, of a short name: a socket's path is
	// short.
	tmp, err := os.MkdirTemp("", "k")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	t.Setenv("TMPDIR", tmp)
	guests[0].Restart = host.RestartOnFailure
	ns := startConfiguredServer(t, "")
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	socketDirs := func() int {
		runs, _ := filepath.Glob(filepath.Join(tmp, "parigot-run-*"))
		n := 0
		for _, run := range runs {
			entries, _ := os.ReadDir(run)
			n += len(entries)
		}
		return n
	}
	var pid atomic.Int64
	ctx, cancel := context.WithCancel(t.Context())
	type ran struct {
		out, errOut string
		err         error
	}
	result := make(chan ran, 1)
	go func() { // the run serves until cancel
		_, out, errOut, err := superviseWatching(ctx, t, guests, Options{Conn: Conn{URL: ns.ClientURL()},
			Backoff: host.Backoff{Waits: []time.Duration{0}, Window: time.Nanosecond},
			Started: func(label string, p int) {
				if label == "echo#2" {
					pid.Store(int64(p))
				}
			}}, nil, nil)
		result <- ran{out, errOut, err}
	}()
	problem := func(format string, args ...any) {
		cancel()
		r := <-result
		t.Fatalf(format+"\nstdout:\n%s\nstderr:\n%s", append(args, r.out, r.errOut)...)
	}
	if !eventually(ctx, func() bool { return readyReplicas(nc, "echo") == 2 }) {
		problem("gave up waiting for both replicas to be ready")
	}
	before := socketDirs()
	for kill := 1; kill <= host.MaxRestarts+1; kill++ {
		killed := pid.Load()
		syscall.Kill(int(killed), syscall.SIGKILL)
		if !eventually(ctx, func() bool { return pid.Load() != killed && readyReplicas(nc, "echo") == 2 }) {
			problem("gave up waiting for echo#2 to be ready again after kill %d", kill)
		}
		if n := socketDirs(); n != before {
			problem("after kill %d, the run keeps %d socket directories, want %d, as before", kill, n, before)
		}
	}
	cancel()
	if r := <-result; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err %v, want the test's end of the run\nstdout:\n%s\nstderr:\n%s", r.err, r.out, r.errOut)
	}
	if n := socketDirs(); n != 0 {
		t.Errorf("the run left %d socket directories behind", n)
	}
}
