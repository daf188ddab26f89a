package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestAProgramNamedOnTwoMachinesRunsOnOne runs the forever app as two
// machines sharing a NATS server would, with its program named in the
// --only of both: the first runs it; the second does not run it a second
// time, and says where it runs and what to change. The first runs on.
func TestAProgramNamedOnTwoMachinesRunsOnOne(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	ns := startSharedNATS(t)
	first := startParigot(t, "", nil, "run", "--mode=split", "--nats="+ns.ClientURL(), "--only=greeter,waiter", "testdata/apps/forever")
	first.waitFor(t, &first.stdout, regexp.MustCompile(`^waiter +\| running$`), 1)

	second := startParigot(t, "", nil, "run", "--mode=split", "--nats="+ns.ClientURL(), "--only=waiter", "testdata/apps/forever")
	err := second.wait(t)
	var exit *exec.ExitError
	if !errorsAs(err, &exit) || exit.ExitCode() != exitFailure {
		t.Errorf("the second machine's run: %v, want exit code %d\n%s", err, exitFailure, second.said())
	}
	said := regexp.MustCompile(`(?m)^parigot: program waiter: runs on another machine of the app already \(on .+, process \d+, since .+ UTC\), so it is not started here: a program runs once in an app; name program waiter in the --only of one machine only$`)
	if !said.MatchString(second.stderr.String()) {
		t.Errorf("the second machine does not say where the program runs and what to change:\n%s", second.said())
	}
	if strings.Contains(second.stdout.String(), "running") {
		t.Errorf("the program ran on the second machine too:\n%s", second.said())
	}
	if strings.Contains(first.stderr.String(), "waiter") && strings.Contains(first.stderr.String(), "failed") {
		t.Errorf("the first machine's run was disturbed:\n%s", first.said())
	}
	first.stop(t)
}
