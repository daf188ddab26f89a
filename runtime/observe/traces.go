package observe

import (
	"sort"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
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
}

// groupTraces groups spans by trace, the latest started trace first, at
// most limit of them.
func groupTraces(spans []sdktrace.ReadOnlySpan, limit int) []Trace {
	byID := map[string]*Trace{}
	var order []*Trace
	for _, s := range spans {
		id := s.SpanContext().TraceID().String()
		t := byID[id]
		if t == nil {
			t = &Trace{TraceID: id, Start: s.StartTime()}
			byID[id] = t
			order = append(order, t)
		}
		sp := Span{
			SpanID:   s.SpanContext().SpanID().String(),
			Name:     s.Name(),
			Duration: s.EndTime().Sub(s.StartTime()),
			Error:    s.Status().Code == codes.Error,
		}
		if s.Parent().IsValid() {
			sp.ParentID = s.Parent().SpanID().String()
		}
		for _, a := range s.Attributes() {
			switch a.Key {
			case "parigot.guest":
				sp.Guest = a.Value.AsString()
			case "rpc.parigot.code":
				sp.Code = a.Value.AsString()
			case "parigot.inbox_wait_ns":
				if a.Value.Type() == attribute.INT64 {
					sp.Wait = time.Duration(a.Value.AsInt64())
				}
			}
		}
		if s.StartTime().Before(t.Start) {
			t.Start = s.StartTime()
		}
		if sp.Error {
			t.Errors++
		}
		// Offset is relative to the start so far; fixed up below.
		sp.Offset = time.Duration(s.StartTime().UnixNano())
		t.Spans = append(t.Spans, sp)
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].Start.After(order[j].Start) })
	if len(order) > limit {
		order = order[:limit]
	}
	out := make([]Trace, 0, len(order))
	for _, t := range order {
		end := t.Start
		for i := range t.Spans {
			start := time.Unix(0, int64(t.Spans[i].Offset))
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
