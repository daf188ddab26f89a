package apptest

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"parigot.dev/parigot/runtime/host"
)

// expectedFailure is a failure a test causes on purpose (ExpectFailure):
// service failing by cause.
type expectedFailure struct {
	service string
	cause   host.Cause
	at      string // where the test said so: "shop_test.go:42"
}

// ExpectFailure says that the test makes service fail by cause on purpose
// (host.CausePanicked, host.CauseOverran...), to check what its callers
// see: at the test's end, the failures of service by cause do not fail the
// test, and the test fails if service did not fail that way. Any other
// failure of the app's services still fails it.
//
// A test of a dependency's failure calls it before the call that makes
// the service fail; a test of a method that overruns its budget expects
// host.CauseOverran of the service that ran it (with on_overrun = "stop",
// the default, the service is stopped, and the calls to it then fail with
// unavailable).
func (a *App) ExpectFailure(t testing.TB, service string, cause host.Cause) {
	t.Helper()
	if spec := host.FindGuest(a.guests, service); spec == nil || spec.Kind != host.Service {
		t.Fatalf("apptest: ExpectFailure: %s has no service named %q", a.app.Name, service)
	}
	at := "ExpectFailure"
	if _, file, line, ok := runtime.Caller(1); ok {
		at = fmt.Sprintf("ExpectFailure at %s:%d", filepath.Base(file), line)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expected = append(a.expected, expectedFailure{service: service, cause: cause, at: at})
}

// failuresAtEnd returns what the services' failures fail the test with:
// each failure nobody expected, and each expectation no failure met.
// a.mu is held.
func (a *App) failuresAtEnd() []string {
	met := make([]bool, len(a.expected))
	var problems []string
	for _, f := range a.failures {
		expected := false
		for i, e := range a.expected {
			if e.service == f.Guest && e.cause == f.Cause {
				met[i], expected = true, true
			}
		}
		if !expected {
			problems = append(problems, f.String())
		}
	}
	for i, e := range a.expected {
		if !met[i] {
			problems = append(problems, fmt.Sprintf("service %s did not fail with cause %q during the test, as %s said it would", e.service, e.cause, e.at))
		}
	}
	return problems
}
