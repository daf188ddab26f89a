package main

import (
	"bytes"
	"strings"
	"testing"

	"parigot.dev/parigot/runtime/host"
)

func TestParigotRunPassesOnAProgramsExitCodeWhenItCan(t *testing.T) {
	crash := host.Failure{Guest: "bad", Kind: host.Service, Cause: host.CauseExited, ExitCode: -1}
	for _, c := range []struct {
		name   string
		res    host.Result
		exit   int
		stderr string
	}{
		{"a program that exits 0 is success", host.Result{}, exitOK, ""},
		{"a program's code from 1 to 255 is parigot's", host.Result{ExitCode: 3}, 3,
			"parigot: the app's program exited with code 3\n"},
		{"a program's 2 becomes 1, since 2 is a command line parigot did not understand", host.Result{ExitCode: 2}, exitFailure,
			"parigot: the app's program exited with code 2; parigot exits with 1, since its 2 means a command line it did not understand\n"},
		{"a program's 130 becomes 1, since 130 is an interrupted parigot", host.Result{ExitCode: 130}, exitFailure,
			"parigot: the app's program exited with code 130; parigot exits with 1, since its 130 means it was interrupted\n"},
		{"a program's 256 becomes 1, not the 0 an exit status would make of it", host.Result{ExitCode: 256}, exitFailure,
			"parigot: the app's program exited with code 256; parigot exits with 1, since an exit code is a number from 0 to 255\n"},
		{"a program's -1 becomes 1", host.Result{ExitCode: -1}, exitFailure,
			"parigot: the app's program exited with code -1; parigot exits with 1, since an exit code is a number from 0 to 255\n"},
		{"a failed service is 1", host.Result{Failures: []host.Failure{crash}}, exitFailure,
			"parigot: service bad exited with code -1\n"},
		{"a program's 256 after a failed service still says what the program's code was", host.Result{ExitCode: 256, Failures: []host.Failure{crash}}, exitFailure,
			"parigot: service bad exited with code -1\nparigot: the app's program exited with code 256; parigot exits with 1, since an exit code is a number from 0 to 255\n"},
		// Failures the host said when they happened (a restart, a service
		// down for good) are not said again; the exit code says why.
		{"failures said during the run are not repeated, and the exit code is said to be theirs", host.Result{Failures: []host.Failure{said(crash), said(crash)}}, exitFailure,
			"parigot: the app's guests failed 2 times during the run (said above), so parigot exits with 1\n"},
		{"a long run's count is of every failure, not of the latest the result keeps", host.Result{Failures: []host.Failure{said(crash), said(crash)}, Failed: 9}, exitFailure,
			"parigot: the app's guests failed 9 times during the run (said above), so parigot exits with 1\n"},
		{"a failure not said yet is, beside those that were", host.Result{Failures: []host.Failure{said(crash), crash}}, exitFailure,
			"parigot: service bad exited with code -1\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			exit := report(runOutcome(c.res, &stderr), &stderr)
			if exit != c.exit || stderr.String() != c.stderr {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d, stderr:\n%s", exit, stderr.String(), c.exit, c.stderr)
			}
		})
	}
}

// --debug without Delve on PATH says so, and what to install, before
// anything is built.
func TestDebugWithoutDelveSaysSoBeforeBuilding(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var stdout, stderr bytes.Buffer
	code := parigot([]string{"run", "--debug=greeting", "../../examples/helloworld"}, &stdout, &stderr)
	if code != exitFailure || !strings.Contains(stderr.String(), "parigot: --debug runs greeting natively under Delve, which is not on PATH: go install github.com/go-delve/delve/cmd/dlv@latest") ||
		strings.Contains(stderr.String(), "compiled") || strings.Contains(stderr.String(), "trapped") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr.String())
	}
}

// said is f, said by the host when it happened.
func said(f host.Failure) host.Failure {
	f.Said = true
	return f
}

// A mistyped --mode is a usage error that names the nearest mode, before
// anything is read or built.
func TestAMistypedModeSuggestsTheNearest(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--mode=splt", "../../examples/helloworld"}, `parigot: unknown --mode "splt": the modes are single and split; did you mean --mode=split?`},
		{[]string{"test", "--mode=bth", "../../examples/helloworld"}, `parigot: unknown --mode "bth": the modes are single, split and both; did you mean --mode=both?`},
		{[]string{"run", "--mode=cluster", "../../examples/helloworld"}, `parigot: unknown --mode "cluster": the modes are single and split`},
	} {
		var stdout, stderr bytes.Buffer
		code := parigot(c.args, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), c.want+"\n") {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant %d and %q", c.args, code, stderr.String(), exitUsage, c.want)
		}
	}
}
