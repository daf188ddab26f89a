package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/runtime/apptest"
)

// testFlags are the flags of parigot test.
type testFlags struct {
	mode    string
	run     string
	verbose bool
	junit   string
}

func newTestCommand(stdout, stderr io.Writer) *cobra.Command {
	var f testFlags
	cmd := &cobra.Command{
		Use:   "test [app-dir]",
		Short: "Build the app, then run its unit tests and topology tests",
		Long: `test builds the app in app-dir (default: the current directory) like
'parigot build', then runs the Go tests of the app's packages natively
('go test ./...' in app-dir): the unit tests of the services' plain Go
halves, and the topology tests, which start the built app with package
parigot.dev/parigot/runtime/apptest and call its services through typed
native clients.

--mode says how topology tests run the app: single, split, or both (each
test once per mode; the summary counts both passes and names the mode of a
failure). The output ends with the line "N passed, M failed" (", K skipped"
when any), counting top-level tests; failing tests, subtests included, are
named above it.

Exit codes: 0 every test passed; 1 a test failed, a test package did not
compile, or the app did not build (shown as 'parigot build' shows it).`,
		Example: `  parigot test
  parigot test ./examples/helloworld
  parigot test --mode=both --junit=report.xml
  parigot test --run 'TestHelloworld/FetchGreeting' -v`,
		Args: maxOneDir,
		RunE: func(cmd *cobra.Command, args []string) error {
			var modes []string
			switch f.mode {
			case "single", "split":
				modes = []string{f.mode}
			case "both":
				modes = []string{"single", "split"}
			default:
				return usageError{fmt.Errorf("unknown --mode %q: the modes are single, split and both", f.mode)}
			}
			ctx := cmd.Context()
			res, err := builder.Build(ctx, builder.Options{Dir: appDir(args), Progress: stderr})
			if err != nil {
				return err
			}
			var passes []*testPass
			for _, mode := range modes {
				fmt.Fprintf(stderr, "parigot: testing %s in %s mode\n", res.App.Name, mode)
				p, err := runGoTest(ctx, res.App.Dir, mode, f, stdout)
				if err != nil {
					return err
				}
				passes = append(passes, p)
			}
			if f.junit != "" {
				if err := writeJUnit(f.junit, passes, len(modes) > 1); err != nil {
					return err
				}
			}
			if !summarize(stdout, passes, len(modes) > 1) {
				return exitCode(exitFailure)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&f.mode, "mode", "single", "how topology tests run the app: single, split or both")
	cmd.Flags().StringVar(&f.run, "run", "", "run only the tests matching this regular expression (as go test -run)")
	cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "print the output of every test, not only of failing ones")
	cmd.Flags().StringVar(&f.junit, "junit", "", "write a JUnit XML report to this file")
	return cmd
}

// testEvent is one line of `go test -json` (cmd/test2json).
type testEvent struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string // build-output events
	FailedBuild string // a package that failed because a build failed
}

// testCase is one test (or subtest) of one pass.
type testCase struct {
	pkg, name string
	result    string // "pass", "fail" or "skip"
	elapsed   float64
	output    strings.Builder
}

// testPass is what one `go test` run reported.
type testPass struct {
	mode  string
	cases []*testCase
	// pkgFailures are packages that failed outside any test: a test
	// package that did not compile, a panic in TestMain, a timeout.
	pkgFailures []*testCase
	pkgElapsed  map[string]float64
}

// runGoTest runs the app's Go tests in dir with the harness told mode, shows
// output as go test would, and collects the results.
func runGoTest(ctx context.Context, dir, mode string, f testFlags, stdout io.Writer) (*testPass, error) {
	args := []string{"test", "-json"}
	if f.verbose {
		args = append(args, "-v")
	}
	if f.run != "" {
		args = append(args, "-run", f.run)
	}
	args = append(args, "./...")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), apptest.EnvMode+"="+mode)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running go test: %w", err)
	}
	pass := &testPass{mode: mode, pkgElapsed: map[string]float64{}}
	cases := map[string]*testCase{}   // pkg + " " + test
	pkgOut := map[string]*testCase{}  // output outside tests, per package
	buildOut := map[string][]string{} // build output, per import path
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev testEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.Action == "" {
			fmt.Fprintln(stdout, sc.Text()) // not an event: pass it on
			continue
		}
		switch ev.Action {
		case "build-output":
			buildOut[ev.ImportPath] = append(buildOut[ev.ImportPath], ev.Output)
			fmt.Fprint(stdout, ev.Output)
			continue
		case "build-fail":
			continue
		}
		if ev.Test == "" {
			p := pkgOut[ev.Package]
			if p == nil {
				p = &testCase{pkg: ev.Package}
				pkgOut[ev.Package] = p
			}
			switch ev.Action {
			case "output":
				p.output.WriteString(ev.Output)
				// Quiet, go test shows a package's result line and what
				// a failing package printed outside its tests.
				if f.verbose || isResultLine(ev.Output) {
					fmt.Fprint(stdout, ev.Output)
				}
			case "pass", "skip":
				pass.pkgElapsed[ev.Package] = ev.Elapsed
			case "fail":
				pass.pkgElapsed[ev.Package] = ev.Elapsed
				p.result = "fail"
				pass.pkgFailures = append(pass.pkgFailures, p)
			}
			continue
		}
		key := ev.Package + " " + ev.Test
		c := cases[key]
		if c == nil {
			c = &testCase{pkg: ev.Package, name: ev.Test}
			cases[key] = c
			pass.cases = append(pass.cases, c)
		}
		switch ev.Action {
		case "output":
			c.output.WriteString(ev.Output)
			if f.verbose {
				fmt.Fprint(stdout, ev.Output)
			}
		case "pass", "skip", "fail":
			c.result, c.elapsed = ev.Action, ev.Elapsed
			if ev.Action == "fail" && !f.verbose {
				fmt.Fprint(stdout, quietOutput(c.output.String()))
			}
		}
	}
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if errOut.Len() > 0 {
		fmt.Fprint(stdout, errOut.String())
	}
	// A package fails on its own only when none of its tests did.
	failedTests := map[string]bool{}
	for _, c := range pass.cases {
		if c.result == "fail" {
			failedTests[c.pkg] = true
		}
	}
	kept := pass.pkgFailures[:0]
	for _, p := range pass.pkgFailures {
		if !failedTests[p.pkg] {
			kept = append(kept, p)
		}
	}
	pass.pkgFailures = kept
	if waitErr != nil && len(pass.pkgFailures) == 0 && len(failedTests) == 0 {
		// go test failed without reporting a package: a pattern or module
		// problem, which it explained on stderr.
		pass.pkgFailures = append(pass.pkgFailures, &testCase{pkg: dir, result: "fail"})
		pass.pkgFailures[0].output.WriteString(errOut.String())
	}
	return pass, nil
}

// isResultLine reports whether a package's output line is its result:
// "ok", "FAIL", or "?" (no test files), then the package.
func isResultLine(line string) bool {
	for _, p := range []string{"ok  \t", "FAIL\t", "?   \t"} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// quietOutput is a test's output as go test without -v shows it: its
// result line ("--- FAIL: TestX") first, then what it logged, without the
// progress lines that go test -json adds (=== RUN and friends).
func quietOutput(out string) string {
	var head, body strings.Builder
	for _, l := range strings.SplitAfter(out, "\n") {
		switch {
		case strings.HasPrefix(l, "=== "):
		case strings.HasPrefix(strings.TrimLeft(l, " "), "--- "):
			head.WriteString(l)
		default:
			body.WriteString(l)
		}
	}
	return head.String() + body.String()
}

// summarize prints the failing tests and the summary line, and reports
// whether everything passed.
func summarize(w io.Writer, passes []*testPass, naming bool) bool {
	passed, failed, skipped := 0, 0, 0
	var names []string
	for _, p := range passes {
		suffix := ""
		if naming {
			suffix = " (" + p.mode + " mode)"
		}
		failedNames := map[string]bool{}
		for _, c := range p.cases {
			if c.result == "fail" {
				failedNames[c.pkg+" "+c.name] = true
			}
		}
		for _, c := range p.cases {
			if !strings.Contains(c.name, "/") {
				switch c.result {
				case "pass":
					passed++
				case "fail":
					failed++
				case "skip":
					skipped++
				}
			}
			if c.result == "fail" && !hasFailedChild(failedNames, c) {
				names = append(names, fmt.Sprintf("FAIL %s%s in %s", c.name, suffix, c.pkg))
			}
		}
		for _, pf := range p.pkgFailures {
			failed++
			names = append(names, fmt.Sprintf("FAIL package %s%s: it failed outside any test (see its output above)", pf.pkg, suffix))
		}
	}
	for _, n := range names {
		fmt.Fprintln(w, n)
	}
	line := fmt.Sprintf("%d passed, %d failed", passed, failed)
	if skipped > 0 {
		line += fmt.Sprintf(", %d skipped", skipped)
	}
	fmt.Fprintln(w, line)
	return failed == 0
}

// hasFailedChild reports whether a subtest of c failed too, in which case the
// subtest is the one to name.
func hasFailedChild(failed map[string]bool, c *testCase) bool {
	prefix := c.pkg + " " + c.name + "/"
	for k := range failed {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// The JUnit XML report: the schema CI systems (Jenkins, GitLab, GitHub
// actions that read test reports) share.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name      string      `xml:"name,attr"`
		Tests     int         `xml:"tests,attr"`
		Failures  int         `xml:"failures,attr"`
		Skipped   int         `xml:"skipped,attr"`
		Time      string      `xml:"time,attr"`
		Timestamp string      `xml:"timestamp,attr"`
		Cases     []junitCase `xml:"testcase"`
	}
	junitCase struct {
		Classname string        `xml:"classname,attr"`
		Name      string        `xml:"name,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitFailure `xml:"failure,omitempty"`
		Skipped   *junitFailure `xml:"skipped,omitempty"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
)

// writeJUnit writes every test and subtest of every pass as a JUnit XML
// report: one testsuite per package (and mode, when there are several).
func writeJUnit(name string, passes []*testPass, naming bool) error {
	var report junitSuites
	var total float64
	now := time.Now().UTC().Format(time.RFC3339)
	for _, p := range passes {
		bySuite := map[string]*junitSuite{}
		var order []string
		suite := func(pkg string) *junitSuite {
			n := pkg
			if naming {
				n += " (" + p.mode + " mode)"
			}
			s := bySuite[n]
			if s == nil {
				s = &junitSuite{Name: n, Time: seconds(p.pkgElapsed[pkg]), Timestamp: now}
				bySuite[n] = s
				order = append(order, n)
				total += p.pkgElapsed[pkg]
			}
			return s
		}
		for _, c := range p.cases {
			s := suite(c.pkg)
			jc := junitCase{Classname: c.pkg, Name: c.name, Time: seconds(c.elapsed)}
			switch c.result {
			case "fail":
				jc.Failure = &junitFailure{Message: "Failed", Text: c.output.String()}
				s.Failures++
			case "skip":
				jc.Skipped = &junitFailure{Message: "Skipped", Text: c.output.String()}
				s.Skipped++
			default:
				jc.SystemOut = c.output.String()
			}
			s.Tests++
			s.Cases = append(s.Cases, jc)
		}
		for _, pf := range p.pkgFailures {
			s := suite(pf.pkg)
			s.Tests++
			s.Failures++
			s.Cases = append(s.Cases, junitCase{Classname: pf.pkg, Name: "package " + pf.pkg, Time: seconds(0),
				Failure: &junitFailure{Message: "Failed outside any test", Text: pf.output.String()}})
		}
		sort.Strings(order)
		for _, n := range order {
			s := bySuite[n]
			report.Tests += s.Tests
			report.Failures += s.Failures
			report.Skipped += s.Skipped
			report.Suites = append(report.Suites, *s)
		}
	}
	report.Time = seconds(total)
	b, err := xml.MarshalIndent(report, "", "  ")
	if err != nil {
		return err
	}
	b = append([]byte(xml.Header), append(b, '\n')...)
	if err := os.WriteFile(name, b, 0o644); err != nil {
		return fmt.Errorf("writing the JUnit report: %w", err)
	}
	return nil
}

func seconds(s float64) string { return fmt.Sprintf("%.3f", s) }
