package split

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
