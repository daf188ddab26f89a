package split

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/lines"
)

// What the supervisor says of its own (here, that it starts a killed
// child again, and after what wait) is a JSON record of guest parigot
// with --log-format json, as what its children's hosts say is.
func TestTheSupervisorsOwnLinesAreJSONRecordsWithLogJSON(t *testing.T) {
	guests := []*host.GuestSpec{{Name: "echo", Kind: host.Service, Implements: []string{"test.Echo"}, Restart: host.RestartOnFailure, Replicas: 1}}
	var stderr lines.Buffer
	s, err := newSupervisor(Options{App: "test", Guests: guests, Executable: "parigot", Stdout: &lines.Buffer{}, Stderr: &stderr,
		LogJSON: true, Backoff: host.Backoff{Waits: []time.Duration{time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	c := s.children[0]
	down, up, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	c.down, c.ready, c.started = down, true, time.Now()
	s.running[c] = true
	s.exited(t.Context(), childEvent{c: c, exited: true, err: errors.New("signal: killed")}) // killed, without a report
	s.stopAll()
	var rec struct{ Guest, Stream, Msg string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(stderr.String())), &rec); err != nil {
		t.Fatalf("the supervisor said %q, not one JSON record: %v", stderr.String(), err)
	}
	if want := "parigot: service echo was killed (signal: killed); restarting it in 1h0m0s (1 of 3)"; rec.Guest != "parigot" || rec.Msg != want {
		t.Errorf("the supervisor said %+v, want guest parigot and msg %q", rec, want)
	}
	if len(s.waiting) != 0 {
		t.Error("the child still waits to start again after the run stopped")
	}
}
