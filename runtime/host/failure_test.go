package host

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tetratelabs/wazero/sys"
)

func TestClassifySaysHowAGuestEnded(t *testing.T) {
	program := &GuestSpec{Name: "driver", Kind: Program}
	service := &GuestSpec{Name: "bad", Kind: Service, MemoryLimit: 64 << 20}
	exit := func(code int32) error { return sys.NewExitError(uint32(code)) }
	trap := fmt.Errorf("module \"bad\" closed: %w", errors.New("wasm error: unreachable"))
	for _, c := range []struct {
		name string
		spec *GuestSpec
		err  error
		s    signs
		code int
		want string // the failure's line; "" for none
	}{
		{"a program that exits 0 ends the run with 0", program, nil, signs{}, 0, ""},
		{"a program's own exit code is the run's", program, exit(3), signs{}, 3, ""},
		{"a program's ExitSelf(-1) is -1, not a stop by the host", program, exit(-1), signs{}, -1, ""},
		{"a program's ExitSelf(256) is 256", program, exit(256), signs{}, 256, ""},
		{"a program that printed a panic line and exited 0 did not panic", program, exit(0), signs{panicked: true}, 0, ""},
		{"a program that printed an out-of-memory line and exited 0 did not run out", program, exit(0), signs{oom: true, panicked: true}, 0, ""},
		{"a program that printed a panic line and exited 3 exited with 3", program, exit(3), signs{panicked: true}, 3, ""},
		{"a program that panicked (exit 2 after the runtime's panic line) panicked", program, exit(2), signs{panicked: true}, 1, "program driver panicked (its stack trace is above)"},
		{"a program that exits 2 without a panic line exited with 2", program, exit(2), signs{}, 2, ""},
		{"a program the host stopped ended as asked", program, exit(-1), signs{stopping: true}, 0, ""},
		{"a service the host stopped while it printed panic lines ended as asked", service, sys.NewExitError(sys.ExitCodeContextCanceled), signs{panicked: true, oom: true, stopping: true}, 0, ""},
		{"a service the host stopped at a deadline ended as asked", service, sys.NewExitError(sys.ExitCodeDeadlineExceeded), signs{stopping: true}, 0, ""},
		{"a service that exits -1 failed with its code", service, exit(-1), signs{}, 1, "service bad exited with code -1"},
		{"a service that printed a panic line and exits 0 exited", service, exit(0), signs{panicked: true}, 1, "service bad exited with code 0"},
		{"a service whose runtime found a deadlock (exit 2) deadlocked", service, exit(2), signs{panicked: true, deadlocked: true}, 1, "service bad deadlocked: its code waited on a channel or a lock that nothing could release (its stack trace is above); a guest has one thread, so its code must not block: see \"One thread, no blocking\" in docs/GUEST_API.md"},
		{"a service that printed the deadlock line and exits 0 exited", service, exit(0), signs{panicked: true, deadlocked: true}, 1, "service bad exited with code 0"},
		{"a service that ran out of memory (exit 2) says so", service, exit(2), signs{oom: true, panicked: true}, 1, "service bad ran out of memory (its limit is 64 MiB)"},
		{"a service that ran out of memory and trapped says so", service, trap, signs{oom: true}, 1, "service bad ran out of memory (its limit is 64 MiB)"},
		{"a service that trapped without a panic line trapped", service, trap, signs{}, 1, "service bad trapped in function _start: wasm error: unreachable"},
		{"a service the host cancelled while it was asked to stop ended as asked", service, context.Canceled, signs{stopping: true}, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			end := classify(c.spec, c.err, c.s)
			got := ""
			if end.failure != nil {
				got = end.failure.String()
			}
			if end.code != c.code || got != c.want {
				t.Errorf("classify = code %d, failure %q; want code %d, failure %q", end.code, got, c.code, c.want)
			}
		})
	}
}

// A service that ends before it is ready is said so with how it ended;
// one whose main just returned is told what its main is missing.
func TestAServiceThatEndedBeforeItWasReadySaysHow(t *testing.T) {
	for _, tc := range []struct {
		failure Failure
		want    string
	}{
		{Failure{Cause: CauseExited, ExitCode: 0}, "service stock ended before it was ready: exited with code 0 (a service's main ends in RunStock (generated) or guest.Run, which serves its calls)"},
		{Failure{Cause: CauseExited, ExitCode: 1}, "service stock ended before it was ready: exited with code 1"},
		{Failure{Cause: CausePanicked}, "service stock ended before it was ready: panicked (its stack trace is above)"},
	} {
		e := &StartError{Guest: "stock", Kind: Service, Problem: EndedBeforeReady, Failure: &tc.failure, Implements: []string{"stock.v1.Stock"}}
		if got := e.Error(); got != tc.want {
			t.Errorf("%+v:\n got %s\nwant %s", tc.failure, got, tc.want)
		}
	}
	// A service name the generator changes is not guessed at.
	e := &StartError{Guest: "keeper", Kind: Service, Problem: EndedBeforeReady, Failure: &Failure{Cause: CauseExited}, Implements: []string{"stock.v1.stock_keeper"}}
	want := "service keeper ended before it was ready: exited with code 0 (a service's main ends in the Run function generated for stock.v1.stock_keeper, or guest.Run, which serves its calls)"
	if got := e.Error(); got != want {
		t.Errorf("a snake_case service:\n got %s\nwant %s", got, want)
	}
}
