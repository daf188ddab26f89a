package observe

import (
	"sort"
	"time"
)

// maxTraces is how many traces, the latest, /api/traces returns.
const maxTraces = 50

// Trace is one trace as the dashboard draws it: a waterfall of its spans.
type Trace struct {
	TraceID  string        `json:"traceId"`
	Root     string        `json:"root"`     // the first span's name
	Start    time.Time     `json:"start"`    // of the first span
	Duration time.Duration `json:"duration"` // first start to last end, ns
	Errors   int           `json:"errors"`
	Spans    []Span        `json:"spans"` // by start
}

// Span is one call of a trace.
type Span struct {
	SpanID   string        `json:"spanId"`
	ParentID string        `json:"parentId,omitempty"` // empty for a root, or a parent not kept
	Name     string        `json:"name"`               // the method
	Guest    string        `json:"guest"`
	Code     string        `json:"code"`
	Offset   time.Duration `json:"offset"` // from the trace's start, ns
	Duration time.Duration `json:"duration"`
	Wait     time.Duration `json:"wait"` // of Duration, in the inbox
	Error    bool          `json:"error"`
	// A failed call's: its error's message (the span's status message)
	// and its typed error's full name (rpc.parigot.error), when it has them.
	Message   string `json:"message,omitempty"`
	ErrorType string `json:"errorType,omitempty"`
}

// groupTraces groups spans by trace, the latest started trace first, at
// most limit of them.
func groupTraces(spans []kept, limit int) []Trace {
	byID := map[string]*Trace{}
	var order []*Trace
	for _, s := range spans {
		t := byID[s.traceID]
		if t == nil {
			t = &Trace{TraceID: s.traceID, Start: s.start}
			byID[s.traceID] = t
			order = append(order, t)
		}
		if s.start.Before(t.Start) {
			t.Start = s.start
		}
		if s.failed {
			t.Errors++
		}
		t.Spans = append(t.Spans, Span{SpanID: s.spanID, ParentID: s.parentID, Name: s.name, Guest: s.guest, Code: s.code,
			Duration: s.end.Sub(s.start), Wait: s.wait, Error: s.failed,
			Message: s.message, ErrorType: s.errorType, Offset: time.Duration(s.start.UnixNano())})
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].Start.After(order[j].Start) })
	if len(order) > limit {
		order = order[:limit]
	}
	out := make([]Trace, 0, len(order))
	for _, t := range order {
		end := t.Start
		for i := range t.Spans {
			start := time.Unix(0, int64(t.Spans[i].Offset)) // the span's start, until made relative here
			t.Spans[i].Offset = start.Sub(t.Start)
			if e := start.Add(t.Spans[i].Duration); e.After(end) {
				end = e
			}
		}
		sort.SliceStable(t.Spans, func(i, j int) bool { return t.Spans[i].Offset < t.Spans[j].Offset })
		t.Duration = end.Sub(t.Start)
		t.Root = t.Spans[0].Name
		out = append(out, *t)
	}
	return out
}
