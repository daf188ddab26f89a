package gotest

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// runningNote is how often Run says which test go test is still running,
// once one has run that long: a topology test that starts an app under
// the race detector may take minutes, with nothing printed meanwhile.
var runningNote = 30 * time.Second

// runningTests are the top-level tests that have started and not ended,
// as read sees go test's events, for the notes of noteWhileRunning.
type runningTests struct {
	mu    sync.Mutex
	since map[string]time.Time // "TestX in pkg" -> when it started
}

// event notes the start or end of a top-level test.
func (r *runningTests) event(ev event, now time.Time) {
	if r == nil || ev.Test == "" || strings.Contains(ev.Test, "/") {
		return
	}
	name := ev.Test + " in " + ev.Package
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev.Action {
	case "run":
		if r.since == nil {
			r.since = map[string]time.Time{}
		}
		r.since[name] = now
	case "pass", "fail", "skip":
		delete(r.since, name)
	}
}

// note is the line that says which test has run longest, when it has run
// for atLeast; "" when none has.
func (r *runningTests) note(now time.Time, atLeast time.Duration) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	longest, first := "", now
	for name, since := range r.since {
		if since.Before(first) || (since.Equal(first) && name < longest) {
			longest, first = name, since
		}
	}
	ran := now.Sub(first)
	if longest == "" || ran < atLeast {
		return ""
	}
	line := fmt.Sprintf("parigot: go test is still running %s (%s)", longest, ran.Round(time.Second))
	switch others := len(r.since) - 1; others {
	case 0:
	case 1:
		line += ", and 1 other test"
	default:
		line += fmt.Sprintf(", and %d other tests", others)
	}
	return line
}

// noteWhileRunning tells w, every interval, which test of r has run
// longest, once one has run for interval, until stop is called.
func noteWhileRunning(w io.Writer, r *runningTests, every time.Duration) (stop func()) {
	stop, _ = tick(every, func(now time.Time) bool {
		if line := r.note(now, every); line != "" {
			fmt.Fprintln(w, line)
		}
		return true
	})
	return stop
}
