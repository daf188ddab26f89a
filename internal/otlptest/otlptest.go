// Package otlptest is an OTLP/HTTP trace receiver for tests: it decodes
// what an exporter POSTs to /v1/traces as the collector protocol's
// ExportTraceServiceRequest (field 1, repeated ResourceSpans, each decoded
// with OTLP's own trace messages) and answers as a collector does (404 Not
// Found elsewhere than /v1/traces), and keeps the spans. Only tests import
// it. The collector's Go package is not used: it links gRPC, whose versions
// would pull parigot's own dependencies along.
package otlptest

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/prototext"

	"parigot.dev/parigot/internal/otlpwire"
)

// Span is one received span, flattened.
type Span struct {
	TraceID, SpanID, ParentID string // hex; ParentID empty for a root
	Name                      string
	Kind                      string            // as OTLP names it: "SPAN_KIND_SERVER", "SPAN_KIND_CONSUMER"
	Attrs                     map[string]string // values as text
	Resource                  map[string]string
	Error                     bool
	Message                   string // the status's
}

// Receiver is a running OTLP/HTTP receiver on a free loopback port.
type Receiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans []Span
	bad   []string // what could not be decoded
}

// Start starts a receiver that t's cleanup stops.
func Start(t testing.TB) *Receiver {
	r := &Receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(r.export))
	t.Cleanup(r.srv.Close)
	return r
}

// URL is the receiver's base URL, what --otlp takes.
func (r *Receiver) URL() string { return r.srv.URL }

func (r *Receiver) export(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	var msg []*tracepb.ResourceSpans
	if err == nil {
		msg, err = otlpwire.DecodeTraces(body)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if req.URL.Path != "/v1/traces" { // as a collector answers
		r.bad = append(r.bad, req.Method+" "+req.URL.Path)
		http.NotFound(w, req)
		return
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-protobuf" || err != nil {
		r.bad = append(r.bad, req.Method+" "+req.URL.Path+" "+req.Header.Get("Content-Type"))
		http.Error(w, "not an OTLP/HTTP protobuf trace export", http.StatusBadRequest)
		return
	}
	for _, rs := range msg {
		res := text(rs.GetResource().GetAttributes())
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				r.spans = append(r.spans, Span{
					TraceID:  hex.EncodeToString(s.TraceId),
					SpanID:   hex.EncodeToString(s.SpanId),
					ParentID: hex.EncodeToString(s.ParentSpanId),
					Name:     s.Name,
					Kind:     s.Kind.String(),
					Attrs:    text(s.Attributes),
					Resource: res,
					Error:    s.GetStatus().GetCode() == 2,
					Message:  s.GetStatus().GetMessage(),
				})
			}
		}
	}
	// An empty ExportTraceServiceResponse: no partial success to report.
	w.Header().Set("Content-Type", "application/x-protobuf")
}

func text(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		v := kv.GetValue()
		switch x := v.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.Key] = x.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.Key] = strconv.FormatInt(x.IntValue, 10)
		default:
			m[kv.Key] = prototext.Format(v)
		}
	}
	return m
}

// WaitFor returns the spans received once done says they are enough, or
// fails t after patience.
func (r *Receiver) WaitFor(t testing.TB, patience time.Duration, done func([]Span) bool) []Span {
	t.Helper()
	give := time.Now().Add(patience)
	for {
		r.mu.Lock()
		spans, bad := append([]Span(nil), r.spans...), r.bad
		r.mu.Unlock()
		if len(bad) > 0 {
			t.Fatalf("the receiver got requests it could not decode: %q", bad)
		}
		if done(spans) {
			return spans
		}
		if time.Now().After(give) {
			t.Fatalf("after %s the receiver has %d spans, not what was expected: %+v", patience, len(spans), spans)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
