package gotest

import (
	"strings"
	"testing"
	"time"

	"parigot.dev/parigot/internal/syncbuf"
)

func TestTheNoteNamesTheTestThatHasRunLongest(t *testing.T) {
	start := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	tests := []struct {
		scenario string
		events   []event
		times    []int // when each event came, in seconds
		now      int
		want     string
	}{
		{"none runs yet", nil, nil, 40, ""},
		{"a test that has not run the interval yet is not said", []event{{Action: "run", Package: "shop", Test: "TestTopology"}}, []int{20}, 40, ""},
		{"a test that has run the interval is said", []event{{Action: "run", Package: "shop", Test: "TestTopology"}}, []int{0}, 90, "parigot: go test is still running TestTopology in shop (1m30s)"},
		{"the longest of several, and how many others run", []event{
			{Action: "run", Package: "shop", Test: "TestA"},
			{Action: "run", Package: "shop", Test: "TestB"},
			{Action: "run", Package: "shop/stock", Test: "TestC"},
		}, []int{10, 0, 30}, 40, "parigot: go test is still running TestB in shop (40s), and 2 other tests"},
		{"a test that ended is not said, nor are subtests", []event{
			{Action: "run", Package: "shop", Test: "TestA"},
			{Action: "run", Package: "shop", Test: "TestA/sub"},
			{Action: "pass", Package: "shop", Test: "TestA"},
		}, []int{0, 0, 5}, 40, ""},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			r := &runningTests{}
			for i, ev := range tt.events {
				r.event(ev, at(tt.times[i]))
			}
			if got := r.note(at(tt.now), 30*time.Second); got != tt.want {
				t.Errorf("note = %q, want %q", got, tt.want)
			}
		})
	}
}

// While a test runs long, parigot says so every interval, until stopped.
func TestWhileATestRunsLongParigotSaysSo(t *testing.T) {
	r := &runningTests{}
	r.event(event{Action: "run", Package: "shop", Test: "TestTopology"}, time.Now())
	var notes syncbuf.Buffer
	stop := noteWhileRunning(&notes, r, time.Millisecond)
	defer stop()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(notes.String(), "parigot: go test is still running TestTopology in shop (") {
		if time.Now().After(deadline) {
			t.Fatalf("no note within a minute; notes %q", notes.String())
		}
		time.Sleep(time.Millisecond)
	}
}
