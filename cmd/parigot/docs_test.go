package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"parigot.dev/parigot/internal/compcache"
)

// docsWithTranscripts are the documents whose transcripts TestTheDocs runs.
var docsWithTranscripts = []string{"README.md", "docs/CLI.md"}

// TestTheDocsShowWhatTheCommandsPrint runs the transcripts of the docs with
// a parigot built from this tree, in the repository's root, and compares
// what each command prints on stdout with what the transcript shows. A
// transcript is a fenced block whose lines start with "$ parigot " (or
// "$ go run ./cmd/parigot "), each followed by its output; a last output
// line "..." stands for the rest. Each document runs in a home directory of
// its own, shown as /home/you, its transcripts in order.
//
// What differs from run to run or machine to machine matches whatever of
// its kind the command prints: a duration (0.355s, or go test's "(cached)"),
// a size (51.2 MiB), a Go version and platform (go1.26.8 linux/amd64), the
// commit the go command records ("(commit 8b100d9c0ffe, modified)", or
// none), the source tree parigot was built from ("tree    /home/you/parigot").
func TestTheDocsShowWhatTheCommandsPrint(t *testing.T) {
	if testing.Short() {
		t.Skip("builds parigot, and runs its commands on the examples")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the docs show Linux's paths")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "parigot")
	build := exec.Command("go", "build", "-o", bin, "./cmd/parigot")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	goEnv := goEnvironment(t)
	delete(goEnv, compcache.EnvDir) // the default location, in the home directory
	for _, doc := range docsWithTranscripts {
		home := t.TempDir()
		env := []string{"HOME=" + home}
		for _, kv := range os.Environ() {
			k, _, _ := strings.Cut(kv, "=")
			if k != "HOME" && k != "XDG_CACHE_HOME" && !strings.HasPrefix(k, "PARIGOT_") && goEnv[k] == "" {
				env = append(env, kv)
			}
		}
		for k, v := range goEnv {
			env = append(env, k+"="+v)
		}
		for _, tr := range transcripts(t, filepath.Join(repo, doc)) {
			t.Run(fmt.Sprintf("%s:%d %s", doc, tr.line, tr.command), func(t *testing.T) {
				args, err := commandArgs(tr.command)
				if err != nil {
					t.Fatalf("%s:%d: %v", doc, tr.line, err)
				}
				var stdout, stderr bytes.Buffer
				cmd := exec.Command(bin, args...)
				cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = repo, env, &stdout, &stderr
				if err := cmd.Run(); err != nil {
					t.Fatalf("%s: %v\nstderr:\n%s", tr.command, err, stderr.String())
				}
				got := strings.ReplaceAll(stdout.String(), home, "/home/you")
				if problem := compareOutput(tr.output, got); problem != "" {
					t.Errorf("%s:%d: `%s` prints what the doc does not show: %s\n\nthe doc shows:\n%s\n\nthe command prints:\n%s\nChange the doc (or the command) so that they agree.",
						doc, tr.line, tr.command, problem, strings.Join(tr.output, "\n"), got)
				}
			})
		}
	}
}

// transcript is one command of a doc and the output it shows.
type transcript struct {
	line    int // of the command
	command string
	output  []string
}

// transcripts reads the transcripts of the Markdown file name.
func transcripts(t *testing.T, name string) []transcript {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []transcript
	inFence, inTranscript := false, false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```"):
			inFence, inTranscript = !inFence, false
		case inFence && strings.HasPrefix(line, "$ "):
			inTranscript = true
			out = append(out, transcript{line: n, command: strings.TrimPrefix(line, "$ ")})
		case inTranscript:
			out[len(out)-1].output = append(out[len(out)-1].output, line)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s has no transcripts: did its format change?", name)
	}
	return out
}

// commandArgs splits a transcript's command into parigot's arguments. It
// runs without a shell, so it refuses what needs one.
func commandArgs(command string) ([]string, error) {
	if strings.ContainsAny(command, "|<>;&$`'\"*") {
		return nil, fmt.Errorf("%q needs a shell; transcripts run parigot without one", command)
	}
	f := strings.Fields(command)
	if len(f) >= 3 && f[0] == "go" && f[1] == "run" && f[2] == "./cmd/parigot" {
		f = append([]string{"parigot"}, f[3:]...)
	}
	if len(f) == 0 || f[0] != "parigot" {
		return nil, fmt.Errorf("%q is not a parigot command", command)
	}
	return f[1:], nil
}

// variable finds, in a doc's output line, what differs from run to run.
var variable = regexp.MustCompile(`go1\.\d+(?:\.\d+)?(?:rc\d+)? [a-z0-9]+/[a-z0-9]+` +
	`| \(commit [0-9a-f]+(?:, modified)?\)` +
	`|^tree {4}/\S*` +
	`|\b\d+(?:\.\d+)? (?:B|KiB|MiB|GiB|TiB)\b` +
	`|\b\d+(?:\.\d+)?(?:ns|µs|ms|s|m|h)\b`)

// linePattern is the regular expression an output line of the doc stands
// for.
func linePattern(doc string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, m := range variable.FindAllStringIndex(doc, -1) {
		b.WriteString(regexp.QuoteMeta(doc[last:m[0]]))
		switch v := doc[m[0]:m[1]]; {
		case strings.HasPrefix(v, "go1."):
			b.WriteString(`go1\.\S+ \S+/\S+`)
		case strings.HasPrefix(v, "tree "):
			b.WriteString(`tree {4}/\S*`)
		case strings.HasPrefix(v, " (commit"):
			b.WriteString(`(?: \(commit [0-9a-f]+(?:, modified)?\))?`)
		case strings.HasSuffix(v, "B"):
			b.WriteString(`\d+(?:\.\d+)? (?:B|KiB|MiB|GiB|TiB)`)
		default:
			b.WriteString(`(?:\d+(?:\.\d+)?(?:ns|µs|ms|s|m|h)|\(cached\))`)
		}
		last = m[1]
	}
	b.WriteString(regexp.QuoteMeta(doc[last:]) + "$")
	return regexp.MustCompile(b.String())
}

// compareOutput says how got differs from the output lines a doc shows, or
// returns "".
func compareOutput(doc []string, got string) string {
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if got == "" {
		lines = nil
	}
	for i, d := range doc {
		if d == "..." && i == len(doc)-1 {
			return ""
		}
		if i >= len(lines) {
			return fmt.Sprintf("it ends before line %d, %q", i+1, d)
		}
		if !linePattern(d).MatchString(lines[i]) {
			return fmt.Sprintf("line %d is %q, not %q", i+1, lines[i], d)
		}
	}
	if len(lines) > len(doc) {
		return fmt.Sprintf("it prints %d lines more, from %q", len(lines)-len(doc), lines[len(doc)])
	}
	return ""
}

func TestATranscriptLineMatchesWhatVariesAndNothingElse(t *testing.T) {
	for _, tc := range []struct {
		doc, got string
		match    bool
	}{
		{"ok  \tparigot.dev/x\t0.355s", "ok  \tparigot.dev/x\t12.1s", true},
		{"ok  \tparigot.dev/x\t0.355s", "ok  \tparigot.dev/x\t(cached)", true},
		{"3 passed, 0 failed", "4 passed, 0 failed", false},
		{"holds     2 compiled guests, 51.2 MiB", "holds     2 compiled guests, 700 B", true},
		{"holds     2 compiled guests, 51.2 MiB", "holds     3 compiled guests, 51.2 MiB", false},
		{"go      go1.26.8 linux/amd64", "go      go1.27rc1 darwin/arm64", true},
		{"wazero  v1.12.0", "wazero  v1.13.0", false},
		{"parigot (devel)", "parigot (devel) (commit 8b100d9c0ffe, modified)", false},
		{"parigot (devel) (commit 8b100d9c0ffe)", "parigot (devel)", true},
		{"parigot (devel) (commit 8b100d9c0ffe)", "parigot (devel) (commit 0123456789ab, modified)", true},
		{"a.b (1.5s) [x]", "a.b (20ms) [x]", true},
		{"a.b (1.5s) [x]", "aXb (20ms) [x]", false},
	} {
		if got := linePattern(tc.doc).MatchString(tc.got); got != tc.match {
			t.Errorf("doc %q, output %q: match %v, want %v", tc.doc, tc.got, got, tc.match)
		}
	}
	if p := compareOutput([]string{"a", "..."}, "a\nb\nc\n"); p != "" {
		t.Errorf("a transcript ending in ... : %s", p)
	}
	if p := compareOutput([]string{"a"}, "a\nb\n"); !strings.Contains(p, "1 lines more") {
		t.Errorf("an extra line: %q", p)
	}
	if p := compareOutput([]string{"a", "b"}, "a\n"); !strings.Contains(p, "ends before line 2") {
		t.Errorf("a missing line: %q", p)
	}
}
