package host

import (
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
