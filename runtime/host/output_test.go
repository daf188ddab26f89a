package host

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// parigot's own lines are JSON records of guest "parigot" with
// --log-format json, each whole line one record however it was written,
// and untouched without it.
func TestParigotsOwnLinesAreRecordsInJSONMode(t *testing.T) {
	var out bytes.Buffer
	w := OwnLines(&out, true)
	w.Write([]byte("parigot: dashboard on http://127.0.0.1:7070/\nparigot: the app's "))
	w.Write([]byte("programs have ended\n"))
	recs := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := []string{"parigot: dashboard on http://127.0.0.1:7070/", "parigot: the app's programs have ended"}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d:\n%s", len(recs), len(want), out.String())
	}
	for i, r := range recs {
		var rec struct{ Guest, Stream, Msg string }
		if err := json.Unmarshal([]byte(r), &rec); err != nil || rec.Guest != "parigot" || rec.Stream != "stderr" || rec.Msg != want[i] {
			t.Errorf("record %d: %s (%v), want parigot's on stderr saying %q", i, r, err, want[i])
		}
	}
	var plain bytes.Buffer
	if OwnLines(&plain, false) != &plain {
		t.Error("without JSON the lines are not written as they are")
	}
}

// The host's warnings beside a run (a guest that did not stop in time) are
// records too with --log-format json, saying slog's level, message and
// attributes, and the record's own time only.
func TestParigotsOwnWarningsAreRecordsInJSONMode(t *testing.T) {
	var out bytes.Buffer
	cfg := Config{Stderr: &out, LogJSON: true}.withDefaults()
	cfg.Logger.Warn("guest did not stop in time; abandoning it", "guest", "spin", "waited", "2s")
	var rec struct{ Guest, Stream, Msg string }
	if err := json.Unmarshal(out.Bytes(), &rec); err != nil || rec.Guest != "parigot" || rec.Stream != "stderr" ||
		rec.Msg != `level=WARN msg="guest did not stop in time; abandoning it" guest=spin waited=2s` {
		t.Errorf("the warning is written %q (%v), want one record of parigot's saying it", out.String(), err)
	}
}

// TestAPanicsValueIsOneShortLineForADeadLetter: what a dead letter's
// reason adds of a guest's panic, from the line its Go runtime printed.
func TestAPanicsValueIsOneShortLineForADeadLetter(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	for _, c := range []struct{ name, line, want string }{
		{"a runtime error", "runtime error: index out of range [3] with length 3\n", "runtime error: index out of range [3] with length 3"},
		{"a value panicked again after a recover", "poison, as told [recovered]", "poison, as told"},
		{"invalid UTF-8 is replaced", "bad \xff byte", "bad ? byte"},
		{"a long value is cut between runes", long, strings.Repeat("é", 100) + "..."},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := panicValue([]byte(c.line)); got != c.want {
				t.Errorf("panicValue(%q) = %q, want %q", c.line, got, c.want)
			}
		})
	}
}

// TestTheFirstPanicIsTheOneADeadLetterGives: a guest whose deferred code
// panics again prints two panics; the first is what ended it.
func TestTheFirstPanicIsTheOneADeadLetterGives(t *testing.T) {
	var out guestOutput
	out.look([]byte("some output\n"))
	if got := panicMessage(&out); got != "" {
		t.Errorf("before any panic: %q, want none", got)
	}
	out.look([]byte("panic: first\n"))
	out.look([]byte("\tpanic: second\n"))
	out.look([]byte("panic: third\n"))
	if got := panicMessage(&guestOutput{}, &out); got != "first" {
		t.Errorf("after three panics: %q, want the first", got)
	}
}
