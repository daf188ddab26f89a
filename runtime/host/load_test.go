package host

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// loadCalls and loadCallers size the load tests: 100k calls from 8
// concurrent callers, payloads from 0 B to 1 MiB.
const (
	loadCalls   = 100_000
	loadCallers = 8
)

// loadGuests is the load test's topology: an echo service and loadCallers
// loader programs, each keeping 4 calls in flight. wasmDir holds echo.wasm
// and loader.wasm.
func loadGuests(wasmDir string, calls int) []*GuestSpec {
	guests := []*GuestSpec{{Name: "echo", Kind: Service, Wasm: wasmDir + "/echo.wasm", Implements: []string{"test.Echo"},
		MethodTimeout: 10 * time.Second, Overrun: OverrunReport, Replicas: 1}}
	for i := range loadCallers {
		guests = append(guests, &GuestSpec{Name: fmt.Sprintf("loader%d", i), Kind: Program, Wasm: wasmDir + "/loader.wasm",
			Requires: []string{"echo"}, Env: []string{fmt.Sprintf("LOAD_N=%d", calls/loadCallers), "LOAD_DEPTH=4"}})
	}
	return guests
}

// checkLoad verifies that every loader reported all its calls intact.
func checkLoad(t *testing.T, out string, calls int) {
	t.Helper()
	for i := range loadCallers {
		want := fmt.Sprintf("loader%d: calls=%d ok=%d failed=0 mismatched=0 duplicated=0", i, calls/loadCallers, calls/loadCallers)
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestLoadEveryCallCompletesOnceWithItsOwnReply(t *testing.T) {
	calls := loadCalls
	if testing.Short() || raceEnabled {
		calls = 8_000
	}
	dir := filepathDir(wasm(t, "loader"))
	start := time.Now()
	res, out := runApp(t, loadGuests(dir, calls)...)
	if res.ExitCode != 0 || len(res.Failures) != 0 {
		t.Errorf("exit %d, failures %v", res.ExitCode, res.Failures)
	}
	checkLoad(t, out, calls)
	t.Logf("%d calls from %d callers in %s", calls, loadCallers, time.Since(start).Round(time.Millisecond))
}

func filepathDir(p string) string { return p[:strings.LastIndexByte(p, '/')] }
