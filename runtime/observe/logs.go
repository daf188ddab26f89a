package observe

import (
	"encoding/json"
	"net/http"
	"sync"
)

// Logs keeps the latest lines of the guests' output, as the JSON records
// of --log-format json, for the dashboard to show those of one trace.
// Its methods are safe from any goroutine.
type Logs struct {
	keep  int
	mu    sync.Mutex
	lines []logLine // a ring once full
	next  int
}

type logLine struct {
	trace  string // the record's trace_id, for filtering
	record json.RawMessage
}

// NewLogs keeps the latest keep lines.
func NewLogs(keep int) *Logs { return &Logs{keep: keep} }

// Add keeps record, one JSON object (see the lines package's JSONWriter).
// A record that is not JSON is dropped.
func (l *Logs) Add(record []byte) {
	var tagged struct {
		Trace string `json:"trace_id"`
	}
	if json.Unmarshal(record, &tagged) != nil {
		return
	}
	line := logLine{trace: tagged.Trace, record: append(json.RawMessage(nil), record...)}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) < l.keep {
		l.lines = append(l.lines, line)
		return
	}
	l.lines[l.next] = line
	l.next = (l.next + 1) % l.keep
}

// of is the kept records of trace, oldest first; every kept record when
// trace is empty.
func (l *Logs) of(trace string) []json.RawMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []json.RawMessage{}
	for _, part := range [][]logLine{l.lines[l.next:], l.lines[:l.next]} {
		for _, line := range part {
			if trace == "" || line.trace == trace {
				out = append(out, line.record)
			}
		}
	}
	return out
}

// serveLogs is /api/logs?trace=ID.
func (d *Dashboard) serveLogs(w http.ResponseWriter, req *http.Request) {
	if d.logs == nil {
		writeJSON(w, []json.RawMessage{})
		return
	}
	writeJSON(w, d.logs.of(req.URL.Query().Get("trace")))
}
