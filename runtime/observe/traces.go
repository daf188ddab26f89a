package observe

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// maxTraces is how many traces /api/traces returns: the first of those its
// query keeps, in its order.
const maxTraces = 50

// Trace is one trace as the dashboard draws it: a waterfall of its spans.
type Trace struct {
	TraceID  string        `json:"traceId"`
	Root     string        `json:"root"`     // the first span's name
	Start    time.Time     `json:"start"`    // of the first span
	Duration time.Duration `json:"duration"` // first start to last end, ns
	Errors   int           `json:"errors"`
	Spans    []Span        `json:"spans"` // by start
	// Slowest is the longest of its calls that the query's method names
	// (of all its calls, without one): what a search for a slow call
	// found in it.
	Slowest SlowCall `json:"slowest"`
}

// SlowCall names the slowest call of a trace.
type SlowCall struct {
	Name     string        `json:"name"`
	Guest    string        `json:"guest"`
	Duration time.Duration `json:"duration"` // ns
}

// traceQuery is what /api/traces keeps of the traces, and in what order:
// its query parameters min, method and sort.
type traceQuery struct {
	// Min keeps the traces with a call (of Method, when given) that took
	// at least that long: min=100ms.
	Min time.Duration
	// Method keeps the traces with a call whose method holds it, whatever
	// its case: method=Greet finds shop.v1.Shop/Greet.
	Method string
	// ByDuration orders the traces by their slowest call (of Method),
	// longest first (sort=duration), not by start, latest first
	// (sort=start, the default).
	ByDuration bool
}

// parseTraceQuery reads a traceQuery from /api/traces' query parameters;
// its error says which parameter is wrong and what it takes.
func parseTraceQuery(q url.Values) (traceQuery, error) {
	var tq traceQuery
	if v := q.Get("min"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return tq, fmt.Errorf("min=%s is not a duration: give one such as 100ms or 1.5s", v)
		}
		tq.Min = d
	}
	tq.Method = strings.TrimSpace(q.Get("method"))
	switch v := q.Get("sort"); v {
	case "", "start":
	case "duration":
		tq.ByDuration = true
	default:
		return tq, fmt.Errorf("sort=%s: give sort=duration (the slowest call first) or sort=start (the latest trace first, the default)", v)
	}
	return tq, nil
}

// pick keeps the traces q asks for (traces are grouped by groupTraces,
// latest first), in q's order, at most limit of them.
func (q traceQuery) pick(traces []Trace, limit int) []Trace {
	method := strings.ToLower(q.Method)
	out := traces[:0:0]
	for _, t := range traces {
		found := false
		for _, s := range t.Spans {
			if method != "" && !strings.Contains(strings.ToLower(s.Name), method) {
				continue
			}
			if !found || s.Duration > t.Slowest.Duration {
				t.Slowest = SlowCall{Name: s.Name, Guest: s.Guest, Duration: s.Duration}
			}
			found = true
		}
		if found && t.Slowest.Duration >= q.Min {
			out = append(out, t)
		}
	}
	if q.ByDuration {
		sort.SliceStable(out, func(i, j int) bool { return out[i].Slowest.Duration > out[j].Slowest.Duration })
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out
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

// groupTraces groups spans by trace, the latest started trace first.
func groupTraces(spans []kept) []Trace {
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
