// Package gotest runs `go test -json` for parigot test: it shows the output
// as go test would, counts and names the results (a mode per pass), prints
// the summary line, and writes JUnit XML for CI systems.
package gotest

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
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"parigot.dev/parigot/internal/child"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string // build-output events
	FailedBuild string // a package that failed because a build failed
}

// Case is one test (or subtest) of one pass.
type Case struct {
	pkg, name string
	result    string // "pass", "fail" or "skip"
	elapsed   float64
	output    testOutput
	// unbuilt is a package failure of a package whose tests did not
	// compile: the compiler's errors, above, say why.
	unbuilt bool
	// missingSum, with unbuilt, is a package whose imports the go command
	// could not verify: go.sum lacks their modules.
	missingSum bool
	// parent is the test that runs this one as a subtest, nil for a
	// top-level test; running are the subtests of this one that run now
	// (started, and neither paused by t.Parallel nor ended).
	parent  *Case
	running []*Case
}

// testOutput is what a test printed, in the order go test reported it.
//
// What a test prints while one of its subtests runs, and no other, is
// lent to that subtest (see Case.print): the test's own code waits in
// t.Run meanwhile, so what prints is work of the subtest's, most often
// the app's services, which apptest.Start logs to the test that started
// them, answering the subtest's calls. A lent line is part of the
// subtest's output, and of the test's only while the subtest has not
// failed: a failing subtest shows the lines that belong to it, and they
// are not shown a second time with its parent's failure, while those of
// a subtest that passed stay in the parent's output (a service's crash
// fails the test that started the app, not the subtest that passed).
type testOutput struct {
	parts []outputPart
}

// outputPart is a piece of a test's output, with the subtest it is lent
// to, if any.
type outputPart struct {
	text   []byte
	lentTo *Case
}

func (o *testOutput) WriteString(s string) { o.write(s, nil) }

func (o *testOutput) write(s string, lentTo *Case) {
	if n := len(o.parts); n > 0 && o.parts[n-1].lentTo == lentTo {
		o.parts[n-1].text = append(o.parts[n-1].text, s...)
		return
	}
	o.parts = append(o.parts, outputPart{[]byte(s), lentTo})
}

// String is the test's output, without the lines lent to subtests that
// failed.
func (o *testOutput) String() string {
	var b strings.Builder
	for _, p := range o.parts {
		if p.lentTo == nil || p.lentTo.result != "fail" {
			b.Write(p.text)
		}
	}
	return b.String()
}

// print adds a line of c's output: to c's, or, while c runs one subtest
// and no other (and that one runs one subtest...), lent to the innermost
// of them (see testOutput).
func (c *Case) print(s string) {
	d := c
	for len(d.running) == 1 {
		d = d.running[0]
	}
	if d == c {
		c.output.WriteString(s)
		return
	}
	d.output.WriteString(s)
	c.output.write(s, d)
}

// runs records whether c runs now, as a subtest of its parent.
func (c *Case) runs(now bool) {
	if c.parent == nil {
		return
	}
	r := slices.DeleteFunc(c.parent.running, func(o *Case) bool { return o == c })
	if now {
		r = append(r, c)
	}
	c.parent.running = r
}

// goSumMissing is what the go command says of a package whose module
// go.sum does not list ("missing go.sum entry for module providing package
// ..."), with advice to go get that cannot work for parigot, which the Go
// module proxy does not serve: its output is the only place it is said.
const goSumMissing = "missing go.sum entry"

// Pass is what one `go test` run reported.
type Pass struct {
	mode  string
	cases []*Case
	// pkgFailures are packages that failed outside any test: a test
	// package that did not compile, a panic in TestMain, a timeout.
	pkgFailures []*Case
	pkgElapsed  map[string]float64
}

// Options says how to run one pass of `go test`.
type Options struct {
	Dir     string   // the directory to run `go test ./...` in
	Mode    string   // the name of the pass, shown with failures ("single", "split")
	Run     string   // go test -run
	Verbose bool     // show every test's output, not only failing ones'
	Env     []string // added to the environment of go test
	// Progress, when set, is told every compilingNote that go test is
	// still compiling, until the first test package starts: a first run
	// compiles the app's test binaries and parigot's packages, a minute
	// or more with nothing else printed. Then, every runningNote, it is
	// told which test has been running that long, if one has.
	Progress io.Writer
}

// compilingNote is how often Run says that go test is still compiling.
var compilingNote = 10 * time.Second

// started is go test's output, noting when the first package starts.
type started struct {
	r    io.Reader
	seen atomic.Bool
	tail []byte // the end of what was read, which a start may continue
}

// startAction is what go test -json writes as a package starts.
var startAction = []byte(`"Action":"start"`)

func (s *started) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if !s.seen.Load() {
		// A read may end inside the words: look at them with what came
		// before.
		s.tail = append(s.tail, p[:n]...)
		if bytes.Contains(s.tail, startAction) {
			s.seen.Store(true)
			s.tail = nil
		} else if keep := len(startAction) - 1; len(s.tail) > keep {
			s.tail = append(s.tail[:0], s.tail[len(s.tail)-keep:]...)
		}
	}
	return n, err
}

// noteWhileCompiling tells w, every interval, how long go test has been
// compiling, until s has seen a package start or stop is called; ended is
// closed when it has stopped.
func noteWhileCompiling(w io.Writer, s *started, every time.Duration) (stop func(), ended <-chan struct{}) {
	begin := time.Now()
	return tick(every, func(now time.Time) bool {
		if s.seen.Load() {
			return false
		}
		fmt.Fprintf(w, "parigot: go test is still compiling the tests (%s)\n", now.Sub(begin).Round(time.Second))
		return true
	})
}

// tick calls f every interval until f returns false or stop is called;
// ended is closed once it calls f no more.
func tick(every time.Duration, f func(now time.Time) bool) (stop func(), ended <-chan struct{}) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				if !f(now) {
					return
				}
			}
		}
	}()
	return func() { close(done); <-finished }, finished
}

// Run runs the Go tests of opts.Dir, shows their output as go test would,
// and collects the results.
func Run(ctx context.Context, opts Options, stdout io.Writer) (*Pass, error) {
	args := []string{"test", "-json"}
	if opts.Verbose {
		args = append(args, "-v")
	}
	if opts.Run != "" {
		args = append(args, "-run", opts.Run)
	}
	args = append(args, "./...")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = opts.Dir
	cmd.Env = append(os.Environ(), opts.Env...)
	// Interrupted, go test and its test binary (with the app's guests)
	// stop, and the go command removes its work directory.
	var forced func(string)
	if opts.Progress != nil {
		forced = func(s string) { fmt.Fprintf(opts.Progress, "parigot: %s\n", s) }
	}
	child.StopPolitely(cmd, forced)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running go test: %w", err)
	}
	watched := &started{r: out}
	stopNotes, stopRunningNotes := func() {}, func() {}
	var running *runningTests
	if opts.Progress != nil {
		stopNotes, _ = noteWhileCompiling(opts.Progress, watched, compilingNote)
		running = &runningTests{}
		stopRunningNotes = noteWhileRunning(opts.Progress, running, runningNote)
	}
	pass := readWatched(watched, opts.Mode, opts.Verbose, stdout, running)
	stopNotes()
	stopRunningNotes()
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if errOut.Len() > 0 {
		fmt.Fprint(stdout, errOut.String())
	}
	if waitErr != nil && len(pass.pkgFailures) == 0 && !pass.Failed() {
		// go test failed without reporting a package: a pattern or module
		// problem, which it explained on stderr.
		c := &Case{pkg: opts.Dir, result: "fail"}
		c.output.WriteString(errOut.String())
		pass.pkgFailures = append(pass.pkgFailures, c)
	}
	return pass, nil
}

// Failed reports whether a test of the pass failed.
func (p *Pass) Failed() bool {
	for _, c := range p.cases {
		if c.result == "fail" {
			return true
		}
	}
	return false
}

// read collects the results of `go test -json` output, echoing what go test
// itself would print to stdout.
func read(r io.Reader, mode string, verbose bool, stdout io.Writer) *Pass {
	return readWatched(r, mode, verbose, stdout, nil)
}

// readWatched is read, telling running (when not nil) which top-level
// tests start and end.
func readWatched(r io.Reader, mode string, verbose bool, stdout io.Writer, running *runningTests) *Pass {
	pass := &Pass{mode: mode, pkgElapsed: map[string]float64{}}
	shown := &byPackage{w: stdout}  // verbose output, a package at a time
	cases := map[string]*Case{}     // pkg + " " + test
	pkgOut := map[string]*Case{}    // output outside tests, per package
	testFailed := map[string]bool{} // packages with a failed test so far
	missingSum := map[string]bool{} // import paths whose build lacked a go.sum entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.Action == "" {
			fmt.Fprintln(stdout, sc.Text()) // not an event: pass it on
			continue
		}
		switch ev.Action {
		case "build-output":
			fmt.Fprint(stdout, ev.Output)
			if strings.Contains(ev.Output, goSumMissing) {
				missingSum[ev.ImportPath] = true
			}
			continue
		case "build-fail":
			continue
		}
		if ev.Test == "" {
			p := pkgOut[ev.Package]
			if p == nil {
				p = &Case{pkg: ev.Package}
				pkgOut[ev.Package] = p
			}
			switch ev.Action {
			case "output":
				// Quiet, go test shows a package's result line and what
				// a failing package printed outside its tests (a bad
				// -run pattern, a panic in TestMain), before that line,
				// unless a failed test of it explains the failure.
				if !verbose && strings.HasPrefix(ev.Output, "FAIL\t") && !testFailed[ev.Package] {
					fmt.Fprint(stdout, p.output.String())
				}
				p.output.WriteString(ev.Output)
				switch {
				case verbose:
					shown.write(ev.Package, ev.Output)
				case isResultLine(ev.Output):
					fmt.Fprint(stdout, ev.Output)
				}
			case "pass", "skip":
				pass.pkgElapsed[ev.Package] = ev.Elapsed
				shown.end(ev.Package)
			case "fail":
				shown.end(ev.Package)
				pass.pkgElapsed[ev.Package] = ev.Elapsed
				p.result = "fail"
				p.unbuilt = ev.FailedBuild != ""
				p.missingSum = missingSum[ev.FailedBuild]
				pass.pkgFailures = append(pass.pkgFailures, p)
			}
			continue
		}
		running.event(ev, time.Now())
		key := ev.Package + " " + ev.Test
		c := cases[key]
		if c == nil {
			c = &Case{pkg: ev.Package, name: ev.Test, parent: parentOf(cases, ev.Package, ev.Test)}
			cases[key] = c
			pass.cases = append(pass.cases, c)
		}
		switch ev.Action {
		case "run", "cont":
			c.runs(true)
		case "pause":
			c.runs(false)
		case "output":
			c.print(ev.Output)
			if verbose {
				shown.write(ev.Package, ev.Output)
			}
		case "pass", "skip", "fail":
			c.runs(false)
			c.result, c.elapsed = ev.Action, ev.Elapsed
			if ev.Action == "fail" {
				testFailed[c.pkg] = true
				if !verbose {
					fmt.Fprint(stdout, quietOutput(c.output.String()))
				}
			}
		}
	}
	shown.flush()
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
	return pass
}

// parentOf is the test of pkg that runs test as a subtest: the one, of
// those that have started and not ended, whose name and a slash begin
// test's name, the longest (a subtest's own name may hold a slash).
func parentOf(cases map[string]*Case, pkg, test string) *Case {
	for i := strings.LastIndexByte(test, '/'); i > 0; i = strings.LastIndexByte(test[:i], '/') {
		if p := cases[pkg+" "+test[:i]]; p != nil && p.result == "" {
			return p
		}
	}
	return nil
}

// byPackage shows the verbose output of packages that go test runs at
// once a package at a time, as go test -v ./... does, so that a test's
// lines are not mixed with another package's: the package whose output
// came first is shown as it comes, the others' is held until it has
// ended, then shown in the order their output began (a package that has
// not ended yet goes on as it comes).
type byPackage struct {
	w       io.Writer
	current string                   // the package shown as it comes; "" for none yet
	held    map[string]*bytes.Buffer // the others' output so far
	waiting []string                 // the packages with output held, in the order it began
	ended   map[string]bool
}

func (b *byPackage) write(pkg, out string) {
	if b.current == "" {
		b.current = pkg
	}
	if pkg == b.current {
		io.WriteString(b.w, out)
		return
	}
	if b.held == nil {
		b.held = map[string]*bytes.Buffer{}
	}
	h := b.held[pkg]
	if h == nil {
		h = new(bytes.Buffer)
		b.held[pkg] = h
		b.waiting = append(b.waiting, pkg)
	}
	h.WriteString(out)
}

// end says that pkg has ended: when it was the one shown, the held
// output of the next ones is shown, up to one that is still running,
// which is then shown as it comes.
func (b *byPackage) end(pkg string) {
	if b.ended == nil {
		b.ended = map[string]bool{}
	}
	b.ended[pkg] = true
	if pkg != b.current {
		return
	}
	b.current = ""
	for len(b.waiting) > 0 && b.current == "" {
		next := b.waiting[0]
		b.waiting = b.waiting[1:]
		b.held[next].WriteTo(b.w)
		delete(b.held, next)
		if !b.ended[next] {
			b.current = next
		}
	}
}

// flush shows what is still held, when go test's output has ended.
func (b *byPackage) flush() {
	for _, pkg := range b.waiting {
		b.held[pkg].WriteTo(b.w)
	}
	b.waiting, b.held = nil, nil
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

// Summarize prints the failing tests and the summary line, and reports
// whether everything passed.
func Summarize(w io.Writer, passes []*Pass, naming bool) bool {
	passed, failed, skipped := 0, 0, 0
	// The failures, in the order first met, each with the modes it failed
	// in: a test that fails alike in both (most often one that does not
	// look at the mode) is named once, with both.
	// A failure's line is what and where, with its modes between them.
	type failure struct{ what, where string }
	var names []failure
	modes := map[failure][]string{}
	fail := func(what, where, mode string) {
		f := failure{what, where}
		if _, ok := modes[f]; !ok {
			names = append(names, f)
		}
		modes[f] = append(modes[f], mode)
	}
	for _, p := range passes {
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
				fail("FAIL "+c.name, " in "+c.pkg, p.mode)
			}
		}
		for _, pf := range p.pkgFailures {
			failed++
			why := "it failed outside any test (see its output above)"
			switch {
			case pf.missingSum:
				why = "its tests did not build: go.sum lacks modules they import (parigot's library may need new ones since an upgrade): run go mod tidy in the app's module, then test again"
			case pf.unbuilt:
				why = "its tests did not compile (the compiler's errors are above)"
			}
			fail("FAIL package "+pf.pkg, ": "+why, p.mode)
		}
	}
	for _, n := range names {
		suffix := ""
		if naming {
			suffix = " (" + strings.Join(modes[n], " and ") + " mode)"
		}
		fmt.Fprintln(w, n.what+suffix+n.where)
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
func hasFailedChild(failed map[string]bool, c *Case) bool {
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

// WriteJUnit writes every test and subtest of every pass as a JUnit XML
// report: one testsuite per package (and mode, when there are several).
func WriteJUnit(name string, passes []*Pass, naming bool) error {
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
