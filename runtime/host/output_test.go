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
