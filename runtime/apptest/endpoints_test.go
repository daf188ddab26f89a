package apptest

import (
	"bytes"
	"io"
	"testing"
)

// outputTB records what a testLog writes to a test's output.
type outputTB struct {
	testing.TB
	out    bytes.Buffer
	logged []string // through Log, which prefixes a file:line of its caller's
}

func (o *outputTB) Output() io.Writer { return &o.out }
func (o *outputTB) Log(args ...any) {
	for _, a := range args {
		o.logged = append(o.logged, a.(string))
	}
}

// The services' lines reach the test's output as they are: no file:line
// of parigot's own (endpoints.go:34) in front of a guest's line.
func TestServicesLinesReachTheTestOutputAsTheyAre(t *testing.T) {
	tb := &outputTB{TB: t}
	l := &testLog{t: tb}
	w := l.prefixed("audit")
	io.WriteString(w, "record k1\nrecord k2\nno newline yet")
	l.close()
	if got, want := tb.out.String(), "audit | record k1\naudit | record k2\n"; got != want && got != want+"audit | no newline yet\n" {
		t.Errorf("the test's output:\n%q\nwant:\n%q", got, want)
	}
	if len(tb.logged) > 0 {
		t.Errorf("lines went through Log, which names a file:line of parigot's: %q", tb.logged)
	}
}
