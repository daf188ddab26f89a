package split

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/host"
)

// TestLoadEveryCallCompletesOnceWithItsOwnReply is the split-mode load test:
// 100k calls from 8 loader processes to one echo process, payloads from 0 B
// to 1 MiB, every reply checked by content.
func TestLoadEveryCallCompletesOnceWithItsOwnReply(t *testing.T) {
	const callers = 8
	calls := 100_000
	if testing.Short() || raceEnabled {
		calls = 8_000
	}
	dir := filepath.Dir(testGuests(t, 1)[0].Wasm)
	// The budget is not what is tested: a call that never completes
	// fails at it whatever it is, while a shared machine that holds up
	// one of the nine processes for seconds must not. (Once in CI, every
	// call in flight waited more than 10 s at the same moment, then the
	// run went on; fourteen runs beside busy loops on every core did
	// not do it again.)
	guests := []*host.GuestSpec{{Name: "echo", Kind: host.Service, Wasm: filepath.Join(dir, "echo.wasm"), Implements: []string{"test.Echo"},
		MethodTimeout: time.Minute, Overrun: host.OverrunReport, Replicas: 1}}
	for i := range callers {
		guests = append(guests, &host.GuestSpec{Name: fmt.Sprintf("loader%d", i), Kind: host.Program, Wasm: filepath.Join(dir, "loader.wasm"),
			Requires: []string{"echo"}, Env: []string{fmt.Sprintf("LOAD_N=%d", calls/callers), "LOAD_DEPTH=4"}, Replicas: 1})
	}
	start := time.Now()
	res, out, errOut := supervise(t, guests, nil, nil)
	if res.ExitCode != 0 || len(res.Failures) != 0 {
		t.Errorf("exit %d, failures %v\nstderr:\n%s", res.ExitCode, res.Failures, errOut)
	}
	for i := range callers {
		want := fmt.Sprintf("loader%d: calls=%d ok=%d failed=0 mismatched=0 duplicated=0", i, calls/callers, calls/callers)
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("%d calls from %d callers in %s", calls, callers, time.Since(start).Round(time.Millisecond))
}
