package gateway

import (
	"context"
	"errors"
	"io"
	"testing"
)

// An app of programs alone (parigot run --dashboard on it) has no service
// to wait for: its services' host, with nothing to run, ends at once,
// which is no failure. It raced the readiness check, and lost it at times
// ("the services ended before they were all ready"): many runs, for the
// race to be run both ways.
func TestARunWithoutServicesIsNotToldItsServicesEnded(t *testing.T) {
	for i := range 2000 {
		ctx, cancel := context.WithCancel(t.Context())
		_, err := RunSingle(ctx, SingleOptions{Stdout: io.Discard, Stderr: io.Discard, ProgramsEnded: cancel})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("run %d: %v, want the run to last until interrupted", i+1, err)
		}
	}
}
