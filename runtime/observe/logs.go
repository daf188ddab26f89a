package observe

import (
	"encoding/json"
	"net/http"
	"sync"
)

// Logs keeps the latest lines of the guests' output, as the JSON records
// of --log-format json, for the dashboard to show those of one trace: at
// most keep of them, and at most MaxLogBytes of records, the oldest going
// first. Its methods are safe from any goroutine.
type Logs struct {
	keep  int
	mu    sync.Mutex
	lines []logLine // oldest first
	bytes int       // of the records in lines
}

// MaxLogBytes bounds the records a Logs keeps: a line of output can be 64
// KiB, and its record several times that when it is escaped, so a count
// of lines alone does not bound the dashboard's memory.
const MaxLogBytes = 16 << 20

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
	l.lines = append(l.lines, line)
	l.bytes += len(line.record)
	for len(l.lines) > l.keep || l.bytes > MaxLogBytes && len(l.lines) > 1 {
		l.bytes -= len(l.lines[0].record)
		l.lines[0] = logLine{}
		l.lines = l.lines[1:]
	}
}

// of is the kept records of trace, oldest first; every kept record when
// trace is empty.
func (l *Logs) of(trace string) []json.RawMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []json.RawMessage{}
	for _, line := range l.lines {
		if trace == "" || line.trace == trace {
			out = append(out, line.record)
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
