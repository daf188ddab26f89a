package observe

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracing makes a span of every call a process's guests answer, with the
// OpenTelemetry SDK, and sends them to an OTLP endpoint, the dashboard, or
// both. Its methods are safe from any goroutine.
type Tracing struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	recent *recent // nil without a dashboard
}

// TracingOptions say where spans go.
type TracingOptions struct {
	App     string // the resource's service.name
	Process string // the guest a split-mode child hosts, as service.instance.id; empty in single mode
	// OTLP is the base URL of an OTLP/HTTP receiver (a collector's
	// http://host:4318): spans are POSTed to OTLP + "/v1/traces". Empty:
	// none are exported.
	OTLP string
	// Keep, when positive, keeps that many of the latest spans for the
	// dashboard's waterfalls.
	Keep int
}

// NewTracing starts tracing as o says.
func NewTracing(o TracingOptions) *Tracing {
	attrs := []attribute.KeyValue{attribute.String("service.name", o.App)}
	if o.Process != "" {
		attrs = append(attrs, attribute.String("service.instance.id", o.Process))
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	}
	t := &Tracing{}
	if o.OTLP != "" {
		opts = append(opts, sdktrace.WithBatcher(newOTLPExporter(o.OTLP), sdktrace.WithBatchTimeout(time.Second)))
	}
	if o.Keep > 0 {
		t.recent = &recent{keep: o.Keep}
		opts = append(opts, sdktrace.WithSpanProcessor(t.recent))
	}
	t.tp = sdktrace.NewTracerProvider(opts...)
	t.tracer = t.tp.Tracer("parigot.dev/parigot/runtime/host")
	return t
}

// Start begins the span of a call to guest's method, made under parent
// (invalid: the call starts a trace), which reached the guest's inbox at
// start.
func (t *Tracing) Start(parent trace.SpanContext, guest, method string, start time.Time) trace.Span {
	ctx := context.Background()
	if parent.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
	}
	_, span := t.tracer.Start(ctx, method,
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(start),
		trace.WithAttributes(
			attribute.String("parigot.guest", guest),
			attribute.String("rpc.system", "parigot"),
			attribute.String("rpc.method", method),
		))
	return span
}

// CallEnd is what the host knows of a call when its service replies.
type CallEnd struct {
	Code        string // the reply's code in words: "ok" for success
	Failed      bool   // Code is not ok
	Request     int    // bytes
	Reply       int    // bytes
	Wait, Taken time.Duration
	At          time.Time
}

// End ends a span begun by Start.
func End(span trace.Span, e CallEnd) {
	span.SetAttributes(
		attribute.String("rpc.parigot.code", e.Code),
		attribute.Int("rpc.request.size", e.Request),
		attribute.Int("rpc.response.size", e.Reply),
		attribute.Int64("parigot.inbox_wait_ns", int64(e.Wait)),
		attribute.Int64("parigot.execution_ns", int64(e.Taken)),
	)
	if e.Failed {
		span.SetStatus(codes.Error, e.Code)
	}
	span.End(trace.WithTimestamp(e.At))
}

// Shutdown sends what spans are left and stops, within ctx.
func (t *Tracing) Shutdown(ctx context.Context) error {
	return t.tp.Shutdown(ctx)
}

// recent keeps the latest ended spans for the dashboard.
type recent struct {
	keep  int
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan // a ring once full
	next  int
}

func (r *recent) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (r *recent) OnEnd(s sdktrace.ReadOnlySpan) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.spans) < r.keep {
		r.spans = append(r.spans, s)
		return
	}
	r.spans[r.next] = s
	r.next = (r.next + 1) % r.keep
}
func (r *recent) Shutdown(context.Context) error   { return nil }
func (r *recent) ForceFlush(context.Context) error { return nil }

// snapshot is the kept spans, oldest first.
func (r *recent) snapshot() []sdktrace.ReadOnlySpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]sdktrace.ReadOnlySpan, 0, len(r.spans))
	out = append(out, r.spans[r.next:]...)
	return append(out, r.spans[:r.next]...)
}
