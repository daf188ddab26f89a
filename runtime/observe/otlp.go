package observe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// otlpExporter sends spans to an OTLP/HTTP receiver as binary protobuf: an
// ExportTraceServiceRequest POSTed to /v1/traces. It is the SDK's own
// otlptracehttp without the gRPC module that one links (see
// docs/ARCHITECTURE.md, "Why parigot's own OTLP exporter?").
type otlpExporter struct {
	given  string // the receiver's URL as --otlp gave it
	url    string // where spans go: TracesURL(given)
	client *http.Client
	warn   func(string) // says that sending failed, or works again; nil: silent
	// failed is how the last batch failed ("" when it was sent): a
	// transport error, or the receiver's status (see failure).
	failed string
}

func newOTLPExporter(given string, warn func(string)) *otlpExporter {
	return &otlpExporter{given: given, url: TracesURL(given), client: &http.Client{}, warn: warn}
}

// tracesPath is where an OTLP/HTTP receiver takes traces, below its base
// URL.
const tracesPath = "/v1/traces"

// TracesURL is where spans for the OTLP/HTTP receiver at u go. u is either
// the receiver's base URL (http://127.0.0.1:4318, as OTEL_EXPORTER_OTLP_ENDPOINT
// takes it), to which /v1/traces is added, or already the traces endpoint
// itself (http://127.0.0.1:4318/v1/traces, as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// takes it), used as it is. A query, if any, is kept.
func TracesURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return strings.TrimSuffix(u, "/") + tracesPath // --otlp's check refuses it first
	}
	path := strings.TrimSuffix(p.Path, "/")
	if !strings.HasSuffix(path, tracesPath) {
		path += tracesPath
	}
	p.Path, p.RawPath = path, ""
	return p.String()
}

// ExportSpans implements sdktrace.SpanExporter. A batch that cannot be
// sent is dropped: the first of a run of failures of one kind is said
// (through warn) with what to check, and so is the first batch sent after
// them; the failures between are not, so that a collector that is down
// does not fill the console. A failure of another kind is said anew: a
// receiver that came up and answers 404, say, needs another fix than one
// that did not answer. (The SDK's batcher calls it from one goroutine.)
func (e *otlpExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.send(ctx, spans)
	if e.warn == nil {
		return err
	}
	kind := failure(err)
	switch {
	case err != nil && kind != e.failed:
		e.warn(e.hint(err))
	case err == nil && e.failed != "":
		e.warn("sending spans to " + e.url + " again")
	}
	e.failed = kind
	return nil
}

// failure is the kind of err, a failure to send: the receiver's status,
// or "unreachable" for any error of the transport; "" for none.
func failure(err error) string {
	var se *statusError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &se):
		return se.status
	}
	return "unreachable"
}

// hint is what the first of a run of failures says: err, and what to check.
// A receiver that answers 404 Not Found listens, but takes no traces at the
// URL tried: the hint names that URL and the forms --otlp takes.
func (e *otlpExporter) hint(err error) string {
	var se *statusError
	if errors.As(err, &se) && se.code == http.StatusNotFound {
		base := "http://127.0.0.1:4318"
		if p, perr := url.Parse(e.given); perr == nil && p.Host != "" {
			base = p.Scheme + "://" + p.Host
		}
		return fmt.Sprintf("%v: nothing takes OTLP traces at that URL. --otlp (%s) should be the receiver's base URL, such as %s (parigot adds %s), or its traces endpoint, such as %s%s. Spans are dropped until it takes them",
			err, e.given, base, tracesPath, base, tracesPath)
	}
	if errors.As(err, &se) {
		return fmt.Sprintf("%v: the receiver refuses the spans; is it an OTLP/HTTP receiver that takes protobuf (port 4318, not OTLP/gRPC's 4317), and up (--otlp)? Spans are dropped until it takes them", err)
	}
	return fmt.Sprintf("%v; is an OTLP/HTTP collector listening there (--otlp)? Spans are dropped until it answers", err)
}

// statusError is a receiver's answer other than 2xx.
type statusError struct {
	url, status string
	code        int
}

func (e *statusError) Error() string { return "sending spans to " + e.url + ": " + e.status }

func (e *otlpExporter) send(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	body, err := exportRequest(spans)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("sending spans to %s: %w", e.url, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return &statusError{url: e.url, status: resp.Status, code: resp.StatusCode}
	}
	return nil
}

// Shutdown implements sdktrace.SpanExporter.
func (e *otlpExporter) Shutdown(context.Context) error { return nil }

// exportRequest encodes an ExportTraceServiceRequest: its one field, 1, is
// repeated ResourceSpans. Encoded by hand so that the collector's service
// package, which imports gRPC, stays out.
func exportRequest(spans []sdktrace.ReadOnlySpan) ([]byte, error) {
	var out []byte
	for _, rs := range resourceSpans(spans) {
		b, err := proto.Marshal(rs)
		if err != nil {
			return nil, err
		}
		out = protowire.AppendTag(out, 1, protowire.BytesType)
		out = protowire.AppendBytes(out, b)
	}
	return out, nil
}

// resourceSpans groups spans by their resource (one per process, in
// practice) into OTLP's messages.
func resourceSpans(spans []sdktrace.ReadOnlySpan) []*tracepb.ResourceSpans {
	var out []*tracepb.ResourceSpans
	byResource := map[string]*tracepb.ScopeSpans{}
	for _, s := range spans {
		key := s.Resource().String()
		ss := byResource[key]
		if ss == nil {
			ss = &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: s.InstrumentationScope().Name}}
			byResource[key] = ss
			out = append(out, &tracepb.ResourceSpans{
				Resource:   &resourcepb.Resource{Attributes: keyValues(s.Resource().Attributes())},
				ScopeSpans: []*tracepb.ScopeSpans{ss},
			})
		}
		ss.Spans = append(ss.Spans, span(s))
	}
	return out
}

func span(s sdktrace.ReadOnlySpan) *tracepb.Span {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	p := &tracepb.Span{
		TraceId:           tid[:],
		SpanId:            sid[:],
		Name:              s.Name(),
		Kind:              tracepb.Span_SpanKind(s.SpanKind()),
		StartTimeUnixNano: uint64(s.StartTime().UnixNano()),
		EndTimeUnixNano:   uint64(s.EndTime().UnixNano()),
		Attributes:        keyValues(s.Attributes()),
		Flags:             uint32(sc.TraceFlags()),
	}
	if parent := s.Parent(); parent.IsValid() {
		psid := parent.SpanID()
		p.ParentSpanId = psid[:]
	}
	switch s.Status().Code {
	case codes.Error:
		p.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: s.Status().Description}
	case codes.Ok:
		p.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}
	}
	return p
}

func keyValues(attrs []attribute.KeyValue) []*commonpb.KeyValue {
	out := make([]*commonpb.KeyValue, 0, len(attrs))
	for _, a := range attrs {
		v := &commonpb.AnyValue{}
		switch a.Value.Type() {
		case attribute.INT64:
			v.Value = &commonpb.AnyValue_IntValue{IntValue: a.Value.AsInt64()}
		case attribute.BOOL:
			v.Value = &commonpb.AnyValue_BoolValue{BoolValue: a.Value.AsBool()}
		case attribute.FLOAT64:
			v.Value = &commonpb.AnyValue_DoubleValue{DoubleValue: a.Value.AsFloat64()}
		default:
			v.Value = &commonpb.AnyValue_StringValue{StringValue: a.Value.String()}
		}
		out = append(out, &commonpb.KeyValue{Key: string(a.Key), Value: v})
	}
	return out
}
