package gotest

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parigot.dev/parigot/internal/syncbuf"
)

// events is what `go test -json ./...` prints for a package with a passing
// test, a failing test with a failing subtest, and a skipped test.
const events = `{"Action":"start","Package":"shop/shop"}
{"Action":"run","Package":"shop/shop","Test":"TestGreet"}
{"Action":"output","Package":"shop/shop","Test":"TestGreet","Output":"=== RUN   TestGreet\n"}
{"Action":"output","Package":"shop/shop","Test":"TestGreet","Output":"--- PASS: TestGreet (0.00s)\n"}
{"Action":"pass","Package":"shop/shop","Test":"TestGreet","Elapsed":0.01}
{"Action":"run","Package":"shop/shop","Test":"TestSum"}
{"Action":"run","Package":"shop/shop","Test":"TestSum/negative"}
{"Action":"output","Package":"shop/shop","Test":"TestSum/negative","Output":"    sum_test.go:9: sum(-1, 1) = 1, want 0\n"}
{"Action":"output","Package":"shop/shop","Test":"TestSum/negative","Output":"    --- FAIL: TestSum/negative (0.00s)\n"}
{"Action":"fail","Package":"shop/shop","Test":"TestSum/negative","Elapsed":0}
{"Action":"output","Package":"shop/shop","Test":"TestSum","Output":"--- FAIL: TestSum (0.00s)\n"}
{"Action":"fail","Package":"shop/shop","Test":"TestSum","Elapsed":0}
{"Action":"run","Package":"shop/shop","Test":"TestSlow"}
{"Action":"output","Package":"shop/shop","Test":"TestSlow","Output":"    slow_test.go:5: needs -long\n"}
{"Action":"skip","Package":"shop/shop","Test":"TestSlow","Elapsed":0}
{"Action":"output","Package":"shop/shop","Output":"FAIL\tshop/shop\t0.012s\n"}
{"Action":"fail","Package":"shop/shop","Elapsed":0.012}
`

func TestAPassIsCountedAndItsFailuresNamed(t *testing.T) {
	var shown bytes.Buffer
	pass := read(strings.NewReader(events), "split", false, &shown)
	if !pass.Failed() {
		t.Fatal("a pass with a failing test did not fail")
	}
	if !strings.Contains(shown.String(), "sum(-1, 1) = 1, want 0") || strings.Contains(shown.String(), "=== RUN") {
		t.Errorf("quiet output should show the failing test's log and no progress lines:\n%s", shown.String())
	}
	var summary bytes.Buffer
	if Summarize(&summary, []*Pass{pass}, true) {
		t.Error("Summarize reported success")
	}
	want := "FAIL TestSum/negative (split mode) in shop/shop\n1 passed, 1 failed, 1 skipped\n"
	if summary.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", summary.String(), want)
	}
}

// With both modes, a test that failed in both is named once, with both
// modes, and counted in each pass; one that failed in one mode names it.
func TestAFailureInBothModesIsNamedOnce(t *testing.T) {
	single := read(strings.NewReader(events), "single", false, io.Discard)
	split := read(strings.NewReader(events), "split", false, io.Discard)
	var summary bytes.Buffer
	Summarize(&summary, []*Pass{single, split}, true)
	want := "FAIL TestSum/negative (single and split mode) in shop/shop\n2 passed, 2 failed, 2 skipped\n"
	if summary.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", summary.String(), want)
	}
	passing := strings.ReplaceAll(strings.ReplaceAll(events, `"Action":"fail"`, `"Action":"pass"`), "FAIL\tshop", "ok  \tshop")
	summary.Reset()
	Summarize(&summary, []*Pass{read(strings.NewReader(passing), "single", false, io.Discard), split}, true)
	want = "FAIL TestSum/negative (split mode) in shop/shop\n"
	if !strings.HasPrefix(summary.String(), want) {
		t.Errorf("summary:\n%s\nwant it to start with:\n%s", summary.String(), want)
	}
}

// A package that fails outside its tests (here go test's -run refusing a
// pattern) shows what it printed, quiet as well, before its result line;
// the summary points at it.
func TestAPackageThatFailedOutsideItsTestsShowsWhy(t *testing.T) {
	const badRun = `{"Action":"start","Package":"shop/shop"}
{"Action":"output","Package":"shop/shop","Output":"testing: invalid regexp for element 0 of -test.run (\"(\"): error parsing regexp: missing closing ): ` + "`(`" + `\n"}
{"Action":"output","Package":"shop/shop","Output":"FAIL\tshop/shop\t0.005s\n"}
{"Action":"fail","Package":"shop/shop","Elapsed":0.005}
`
	var shown bytes.Buffer
	pass := read(strings.NewReader(badRun), "single", false, &shown)
	want := "testing: invalid regexp for element 0 of -test.run (\"(\"): error parsing regexp: missing closing ): `(`\nFAIL\tshop/shop\t0.005s\n"
	if shown.String() != want {
		t.Errorf("shown:\n%s\nwant:\n%s", shown.String(), want)
	}
	var summary bytes.Buffer
	Summarize(&summary, []*Pass{pass}, false)
	if !strings.Contains(summary.String(), "FAIL package shop/shop: it failed outside any test (see its output above)") {
		t.Errorf("summary:\n%s", summary.String())
	}
	// The package output of a package whose test failed stays quiet:
	// the test's own output says why.
	shown.Reset()
	read(strings.NewReader(events), "single", false, &shown)
	if strings.Count(shown.String(), "FAIL\tshop/shop") != 1 || strings.Contains(shown.String(), "=== RUN") {
		t.Errorf("a failed test's package printed more than its result line:\n%s", shown.String())
	}
}

// A package whose tests do not compile shows the compiler's errors, and
// the summary says it did not compile.
func TestAPackageThatDidNotCompileIsSaidToHaveNotCompiled(t *testing.T) {
	const unbuilt = `{"ImportPath":"shop/shop [shop/shop.test]","Action":"build-output","Output":"# shop/shop [shop/shop.test]\n"}
{"ImportPath":"shop/shop [shop/shop.test]","Action":"build-output","Output":"./a_test.go:5:28: undefined: undefinedThing\n"}
{"ImportPath":"shop/shop [shop/shop.test]","Action":"build-fail"}
{"Action":"start","Package":"shop/shop"}
{"Action":"output","Package":"shop/shop","Output":"FAIL\tshop/shop [build failed]\n"}
{"Action":"fail","Package":"shop/shop","Elapsed":0,"FailedBuild":"shop/shop [shop/shop.test]"}
`
	var shown bytes.Buffer
	pass := read(strings.NewReader(unbuilt), "single", false, &shown)
	if !strings.Contains(shown.String(), "./a_test.go:5:28: undefined: undefinedThing\n") {
		t.Errorf("the compiler's error is not shown:\n%s", shown.String())
	}
	var summary bytes.Buffer
	Summarize(&summary, []*Pass{pass}, false)
	want := "FAIL package shop/shop: its tests did not compile (the compiler's errors are above)\n0 passed, 1 failed\n"
	if summary.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", summary.String(), want)
	}
}

// A package whose imports' modules go.sum lacks (a library of parigot
// that needs new ones, after an upgrade) is told to run go mod tidy, not
// the go get the go command suggests.
func TestAPackageWhoseGoSumLacksModulesIsToldToTidy(t *testing.T) {
	const unset = `{"ImportPath":"example.com/x/print","Action":"build-output","Output":"# app\n"}
{"ImportPath":"example.com/x/print","Action":"build-output","Output":"/src/parigot/codegen/source.go:14:2: missing go.sum entry for module providing package example.com/x/print (imported by parigot.dev/parigot/codegen); to add:\n"}
{"ImportPath":"example.com/x/print","Action":"build-output","Output":"\tgo get parigot.dev/parigot/codegen@v0.0.0\n"}
{"ImportPath":"example.com/x/print","Action":"build-fail"}
{"Action":"start","Package":"app"}
{"Action":"output","Package":"app","Output":"FAIL\tapp [setup failed]\n"}
{"Action":"fail","Package":"app","Elapsed":0,"FailedBuild":"example.com/x/print"}
`
	pass := read(strings.NewReader(unset), "single", false, &bytes.Buffer{})
	var summary bytes.Buffer
	Summarize(&summary, []*Pass{pass}, false)
	want := "FAIL package app: its tests did not build: go.sum lacks modules they import (parigot's library may need new ones since an upgrade): run go mod tidy in the app's module, then test again\n0 passed, 1 failed\n"
	if summary.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", summary.String(), want)
	}
}

func TestAllPassedEndsWithTheCountAndSucceeds(t *testing.T) {
	ok := strings.Split(events, "\n")[:5]
	pass := read(strings.NewReader(strings.Join(ok, "\n")), "single", false, &bytes.Buffer{})
	var summary bytes.Buffer
	if !Summarize(&summary, []*Pass{pass}, false) || summary.String() != "1 passed, 0 failed\n" {
		t.Errorf("summary %q", summary.String())
	}
}

func TestTheJUnitReportHoldsEveryCaseAndTheFailureOutput(t *testing.T) {
	pass := read(strings.NewReader(events), "single", false, &bytes.Buffer{})
	name := filepath.Join(t.TempDir(), "report.xml")
	if err := WriteJUnit(name, []*Pass{pass}, false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("the report is not XML: %v\n%s", err, b)
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Failures == 0 || len(doc.Suites[0].Cases) < 3 {
		t.Fatalf("report:\n%s", b)
	}
	if !strings.Contains(string(b), "sum(-1, 1) = 1, want 0") {
		t.Errorf("the failure's output is not in the report:\n%s", b)
	}
}

// While go test compiles, parigot says so every interval; once a package
// starts, it stops of itself.
func TestWhileGoTestCompilesParigotSaysSo(t *testing.T) {
	pr, pw := io.Pipe()
	s := &started{r: pr}
	var notes syncbuf.Buffer
	stop, ended := noteWhileCompiling(&notes, s, time.Millisecond)
	defer stop()
	for !strings.Contains(notes.String(), "parigot: go test is still compiling the tests (") {
		time.Sleep(time.Millisecond)
	}
	go func() { // in two writes, the second from inside the words that say it
		pw.Write([]byte(`{"Action":"st`))
		pw.Write([]byte(`art","Package":"shop/shop"}` + "\n"))
	}()
	buf := make([]byte, 100)
	for !s.seen.Load() {
		s.Read(buf)
	}
	select {
	case <-ended:
	case <-time.After(time.Minute):
		t.Fatal("the notes went on after a package started")
	}
}

// With -v, packages that go test runs at once are shown one after the
// other, as go test -v ./... shows them: a test's lines under its own
// package, not amid another's.
func TestVerboseOutputIsShownAPackageAtATime(t *testing.T) {
	const mixed = `{"Action":"start","Package":"shop/a"}
{"Action":"start","Package":"shop/b"}
{"Action":"output","Package":"shop/a","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"shop/b","Test":"TestB","Output":"=== RUN   TestB\n"}
{"Action":"output","Package":"shop/b","Test":"TestB","Output":"    b_test.go:3: b says\n"}
{"Action":"output","Package":"shop/c","Test":"TestC","Output":"=== RUN   TestC\n"}
{"Action":"output","Package":"shop/a","Test":"TestA","Output":"    a_test.go:3: a says\n"}
{"Action":"output","Package":"shop/b","Test":"TestB","Output":"--- PASS: TestB (0.00s)\n"}
{"Action":"pass","Package":"shop/b","Test":"TestB","Elapsed":0}
{"Action":"output","Package":"shop/b","Output":"ok  \tshop/b\t0.01s\n"}
{"Action":"pass","Package":"shop/b","Elapsed":0.01}
{"Action":"output","Package":"shop/a","Test":"TestA","Output":"--- PASS: TestA (0.00s)\n"}
{"Action":"pass","Package":"shop/a","Test":"TestA","Elapsed":0}
{"Action":"output","Package":"shop/a","Output":"ok  \tshop/a\t0.02s\n"}
{"Action":"pass","Package":"shop/a","Elapsed":0.02}
{"Action":"output","Package":"shop/c","Test":"TestC","Output":"    c_test.go:3: c says\n"}
{"Action":"output","Package":"shop/c","Test":"TestC","Output":"--- PASS: TestC (0.00s)\n"}
{"Action":"output","Package":"shop/c","Output":"ok  \tshop/c\t0.03s\n"}
{"Action":"pass","Package":"shop/c","Elapsed":0.03}
`
	var shown bytes.Buffer
	read(strings.NewReader(mixed), "single", true, &shown)
	want := "=== RUN   TestA\n    a_test.go:3: a says\n--- PASS: TestA (0.00s)\nok  \tshop/a\t0.02s\n" +
		"=== RUN   TestB\n    b_test.go:3: b says\n--- PASS: TestB (0.00s)\nok  \tshop/b\t0.01s\n" +
		"=== RUN   TestC\n    c_test.go:3: c says\n--- PASS: TestC (0.00s)\nok  \tshop/c\t0.03s\n"
	if shown.String() != want {
		t.Errorf("parigot test -v showed\n%s\nwant\n%s", shown.String(), want)
	}
}

// subtestEvents is what `go test -json` prints for a topology test whose
// services (apptest logs their lines to the test that started the app)
// print while its subtests run: one at a time, then two at once
// (t.Parallel).
const subtestEvents = `{"Action":"start","Package":"shop"}
{"Action":"run","Package":"shop","Test":"TestShop"}
{"Action":"output","Package":"shop","Test":"TestShop","Output":"=== RUN   TestShop\n"}
{"Action":"output","Package":"shop","Test":"TestShop","Output":"    shop | ready\n"}
{"Action":"run","Package":"shop","Test":"TestShop/greets"}
{"Action":"output","Package":"shop","Test":"TestShop/greets","Output":"=== RUN   TestShop/greets\n"}
{"Action":"run","Package":"shop","Test":"TestShop/greets/by_name"}
{"Action":"output","Package":"shop","Test":"TestShop/greets/by_name","Output":"=== RUN   TestShop/greets/by_name\n"}
{"Action":"output","Package":"shop","Test":"TestShop","Output":"    shop | greeting Ada\n"}
{"Action":"output","Package":"shop","Test":"TestShop/greets/by_name","Output":"    topology_test.go:22: greeting = \"Hello, Ada\", want \"Hello, Ada!\"\n"}
{"Action":"output","Package":"shop","Test":"TestShop/greets/by_name","Output":"--- FAIL: TestShop/greets/by_name (0.00s)\n"}
{"Action":"fail","Package":"shop","Test":"TestShop/greets/by_name","Elapsed":0}
{"Action":"output","Package":"shop","Test":"TestShop/greets","Output":"--- FAIL: TestShop/greets (0.00s)\n"}
{"Action":"fail","Package":"shop","Test":"TestShop/greets","Elapsed":0}
{"Action":"run","Package":"shop","Test":"TestShop/answers"}
{"Action":"output","Package":"shop","Test":"TestShop/answers","Output":"=== RUN   TestShop/answers\n"}
{"Action":"output","Package":"shop","Test":"TestShop","Output":"    shop | greeting Bob\n"}
{"Action":"output","Package":"shop","Test":"TestShop/answers","Output":"--- PASS: TestShop/answers (0.00s)\n"}
{"Action":"pass","Package":"shop","Test":"TestShop/answers","Elapsed":0}
{"Action":"run","Package":"shop","Test":"TestShop/a"}
{"Action":"output","Package":"shop","Test":"TestShop/a","Output":"=== RUN   TestShop/a\n"}
{"Action":"output","Package":"shop","Test":"TestShop/a","Output":"=== PAUSE TestShop/a\n"}
{"Action":"pause","Package":"shop","Test":"TestShop/a"}
{"Action":"run","Package":"shop","Test":"TestShop/b"}
{"Action":"output","Package":"shop","Test":"TestShop/b","Output":"=== RUN   TestShop/b\n"}
{"Action":"output","Package":"shop","Test":"TestShop/b","Output":"=== PAUSE TestShop/b\n"}
{"Action":"pause","Package":"shop","Test":"TestShop/b"}
{"Action":"output","Package":"shop","Test":"TestShop","Output":"    shop | between\n"}
{"Action":"cont","Package":"shop","Test":"TestShop/a"}
{"Action":"output","Package":"shop","Test":"TestShop/a","Output":"=== CONT  TestShop/a\n"}
{"Action":"cont","Package":"shop","Test":"TestShop/b"}
{"Action":"output","Package":"shop","Test":"TestShop/b","Output":"=== CONT  TestShop/b\n"}
{"Action":"output","Package":"shop","Test":"TestShop","Output":"    shop | greeting Cy\n"}
{"Action":"output","Package":"shop","Test":"TestShop/a","Output":"    topology_test.go:40: a failed\n"}
{"Action":"output","Package":"shop","Test":"TestShop/a","Output":"--- FAIL: TestShop/a (0.00s)\n"}
{"Action":"fail","Package":"shop","Test":"TestShop/a","Elapsed":0}
{"Action":"output","Package":"shop","Test":"TestShop/b","Output":"--- PASS: TestShop/b (0.00s)\n"}
{"Action":"pass","Package":"shop","Test":"TestShop/b","Elapsed":0}
{"Action":"output","Package":"shop","Test":"TestShop","Output":"--- FAIL: TestShop (0.70s)\n"}
{"Action":"fail","Package":"shop","Test":"TestShop","Elapsed":0.7}
{"Action":"output","Package":"shop","Output":"FAIL\tshop\t0.712s\n"}
{"Action":"fail","Package":"shop","Elapsed":0.712}
`

// What a test prints while one subtest runs, and no other, is shown with
// that subtest's failure (the innermost one running), and not again with
// the test's; what it prints outside its subtests, while one that passed
// ran, or while several ran at once, is shown with the test's own
// failure. JUnit's report says the same.
func TestWhatPrintsWhileASubtestRunsIsShownWithIt(t *testing.T) {
	var shown bytes.Buffer
	pass := read(strings.NewReader(subtestEvents), "single", false, &shown)
	want := `--- FAIL: TestShop/greets/by_name (0.00s)
    shop | greeting Ada
    topology_test.go:22: greeting = "Hello, Ada", want "Hello, Ada!"
--- FAIL: TestShop/greets (0.00s)
--- FAIL: TestShop/a (0.00s)
    topology_test.go:40: a failed
--- FAIL: TestShop (0.70s)
    shop | ready
    shop | greeting Bob
    shop | between
    shop | greeting Cy
FAIL	shop	0.712s
`
	if shown.String() != want {
		t.Errorf("shown:\n%s\nwant:\n%s", shown.String(), want)
	}

	report := filepath.Join(t.TempDir(), "report.xml")
	if err := WriteJUnit(report, []*Pass{pass}, false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var got junitSuites
	if err := xml.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{}
	for _, c := range got.Suites[0].Cases {
		texts[c.Name] = c.SystemOut
		if c.Failure != nil {
			texts[c.Name] = c.Failure.Text
		}
	}
	for name, lines := range map[string]struct{ has, lacks string }{
		"TestShop/greets/by_name": {has: "shop | greeting Ada"},
		"TestShop/answers":        {has: "shop | greeting Bob"},
		"TestShop":                {has: "shop | greeting Bob", lacks: "shop | greeting Ada"},
	} {
		if !strings.Contains(texts[name], lines.has) || lines.lacks != "" && strings.Contains(texts[name], lines.lacks) {
			t.Errorf("the report's %s:\n%s\nwant %q in it, and not %q", name, texts[name], lines.has, lines.lacks)
		}
	}
}
