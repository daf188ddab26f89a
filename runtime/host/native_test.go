package host

import (
	"encoding/json"
	"strings"
	"testing"

	"parigot.dev/parigot/runtime/internal/lines"
)

// TestDelvesOutputPassesLinesOfAnyLength: a debugged guest's stdout comes
// through Delve's, which the host reads for the line saying where Delve
// listens; a line longer than a line reader's buffer does not end the
// reading, and comes out cut as any long line.
func TestDelvesOutputPassesLinesOfAnyLength(t *testing.T) {
	long := strings.Repeat("z", 2<<20)
	delve := "API server listening at: 127.0.0.1:4040\n" + long + "\nafter the long line\nno newline"
	var out lines.Buffer
	stdout := newGuestOutput(lines.NewSink(&out), "g | ", false)
	addr := make(chan string, 1)
	new(run).readDelveOutput(strings.NewReader(delve), stdout, addr)
	stdout.Flush()
	if a := <-addr; a != "127.0.0.1:4040" {
		t.Errorf("Delve listens at %q, want 127.0.0.1:4040", a)
	}
	got := out.String()
	if !strings.HasSuffix(got, "g | after the long line\ng | no newline\n") {
		t.Errorf("the output ends %q; want the lines after the long one", got[max(0, len(got)-60):])
	}
	pieces := 1 + (len(long)-lines.MaxLine+lines.MaxLine-len(lines.Continued)-1)/(lines.MaxLine-len(lines.Continued))
	if n := strings.Count(got, "\n"); n != pieces+2 {
		t.Errorf("%d lines: the long line is not in pieces of MaxLine", n)
	}
	if strings.Contains(got, "listening") {
		t.Errorf("Delve's own line is in the guest's output")
	}
}

// TestPausesUnderDelveAreToldEachTime: the host looks at a debugged
// guest's state now and then, and must tell every pause the user meets,
// also one that followed the last too soon for a running state to be seen
// in between (a continue that hits the next breakpoint at once, a step),
// but not the halt Delve starts a guest in, nor a look around while it is
// stopped. The states are JSON as Delve's API gives them.
func TestPausesUnderDelveAreToldEachTime(t *testing.T) {
	const (
		running = `{"Running": true}`
		halt    = `{"currentThread": {"id": 1, "pc": 4096, "file": "rt0.s", "line": 5}, "Threads": [{"id": 1, "pc": 4096}, {"id": 2, "pc": 8192}]}`
		// Stopped at breakpoint 1 (main.go:20), hit once, twice; thread 2 where it was.
		atBreak1 = `{"currentThread": {"id": 1, "pc": 65536, "file": "main.go", "line": 20, "breakPoint": {"id": 1, "totalHitCount": 1}}, "Threads": [{"id": 1, "pc": 65536, "breakPoint": {"id": 1, "totalHitCount": 1}}, {"id": 2, "pc": 8192}]}`
		atBreak2 = `{"currentThread": {"id": 1, "pc": 65536, "file": "main.go", "line": 20, "breakPoint": {"id": 1, "totalHitCount": 2}}, "Threads": [{"id": 1, "pc": 65536, "breakPoint": {"id": 1, "totalHitCount": 2}}, {"id": 2, "pc": 8192}]}`
		// The user selected thread 2 while stopped at atBreak1.
		lookAround = `{"currentThread": {"id": 2, "pc": 8192, "file": "proc.go", "line": 400}, "Threads": [{"id": 1, "pc": 65536, "breakPoint": {"id": 1, "totalHitCount": 1}}, {"id": 2, "pc": 8192}]}`
		// atBreak1 again, its threads listed in another order: Delve lists
		// them from a map, so their order changes from one look to the next.
		atBreak1Shuffled = `{"currentThread": {"id": 1, "pc": 65536, "file": "main.go", "line": 20, "breakPoint": {"id": 1, "totalHitCount": 1}}, "Threads": [{"id": 2, "pc": 8192}, {"id": 1, "pc": 65536, "breakPoint": {"id": 1, "totalHitCount": 1}}]}`
		// A step from atBreak1 to the next line: no breakpoint.
		stepped = `{"currentThread": {"id": 1, "pc": 65560, "file": "main.go", "line": 21}, "Threads": [{"id": 1, "pc": 65560}, {"id": 2, "pc": 8192}]}`
	)
	for _, tc := range []struct {
		name   string
		states []string
		want   string // what is told, look by look: "." nothing, "R" runs again, "P" paused
	}{
		{"a breakpoint hit after a continue seen running", []string{halt, halt, running, atBreak1, atBreak1, running}, "...P.R"},
		{"a breakpoint hit before the first look", []string{atBreak1, running}, "PR"},
		{"a breakpoint hit right after the start, its running not seen", []string{halt, atBreak1}, ".P"},
		{"the same breakpoint hit again at once", []string{halt, running, atBreak1, atBreak2, atBreak2}, "..P(RP)."},
		{"a step to the next line", []string{running, atBreak1, stepped, running}, ".P(RP)R"},
		{"the threads of one stop listed in another order", []string{running, atBreak1, atBreak1Shuffled, atBreak1, atBreak1Shuffled}, ".P..."},
		{"another thread selected while stopped", []string{running, atBreak1, lookAround, lookAround, running}, ".P..R"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w pauseWatch
			var told strings.Builder
			for _, js := range tc.states {
				var st delveState
				if err := json.Unmarshal([]byte(js), &st); err != nil {
					t.Fatal(err)
				}
				switch again, paused := w.see(&st); {
				case again && paused:
					told.WriteString("(RP)")
				case again:
					told.WriteString("R")
				case paused:
					told.WriteString("P")
				default:
					told.WriteString(".")
				}
			}
			if told.String() != tc.want {
				t.Errorf("told %q, want %q", told.String(), tc.want)
			}
		})
	}
}
