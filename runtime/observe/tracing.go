package observe

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracing makes a span of every call a process's guests answer, with the
// OpenTelemetry SDK, and sends them to an OTLP endpoint, the dashboard, or
// both. Its methods are safe from any goroutine.
//
// The host only records what it knows of a call (Record): the SDK makes the
// span on a goroutine of Tracing's own, so that the guest that answered
// does not wait for it. The host chooses the span's ids itself (NewSpanID,
// NewTraceID), since a call it dispatches must name its parent before that
// parent's span exists; the SDK takes them through the ID generator.
type Tracing struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	recent *recent // nil without a dashboard

	calls   chan CallSpan // to make spans of
	done    chan struct{} // closed by Shutdown: Record drops from then on
	drained chan struct{} // closed when the goroutine has made its last span
	dropped atomic.Int64  // calls recorded while calls was full
	once    sync.Once
}

// TracingOptions say where spans go.
type TracingOptions struct {
	App     string // the resource's service.name
	Process string // the guest a split-mode child hosts, as service.instance.id; empty in single mode
	// OTLP are the URLs of OTLP/HTTP receivers: each a base URL (a
	// collector's http://host:4318; in split mode also the dashboard's),
	// or a traces endpoint, ending in /v1/traces. Spans are POSTed to
	// TracesURL of each. Empty: none are exported.
	OTLP []string
	// Keep, when positive, keeps that many of the latest spans for the
	// dashboard's waterfalls.
	Keep int
	// Warn, when set, is told (once a run of failures) that spans cannot be
	// sent to an OTLP receiver, and when they can again; unset, the
	// failures go to OpenTelemetry's error handler.
	Warn func(string)
}

// queued is how many recorded calls may wait for their spans; beyond it a
// call gets none (and Dropped counts it), rather than slow its guest.
const queued = 16384

// NewTracing starts tracing as o says.
func NewTracing(o TracingOptions) *Tracing {
	attrs := []attribute.KeyValue{attribute.String("service.name", o.App)}
	if o.Process != "" {
		attrs = append(attrs, attribute.String("service.instance.id", o.Process))
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
		sdktrace.WithIDGenerator(chosenIDs{}),
	}
	t := &Tracing{calls: make(chan CallSpan, queued), done: make(chan struct{}), drained: make(chan struct{})}
	for _, url := range o.OTLP {
		opts = append(opts, sdktrace.WithBatcher(newOTLPExporter(url, o.Warn), sdktrace.WithBatchTimeout(time.Second)))
	}
	if o.Keep > 0 {
		t.recent = &recent{keep: o.Keep}
		opts = append(opts, sdktrace.WithSpanProcessor(t.recent))
	}
	t.tp = sdktrace.NewTracerProvider(opts...)
	t.tracer = t.tp.Tracer("parigot.dev/parigot/runtime/host")
	go t.makeSpans()
	return t
}

// NewTraceID and NewSpanID make random ids for the host's spans: they are
// lock-free (math/rand/v2's runtime source), for the guests' goroutines.
func NewTraceID() trace.TraceID {
	var id trace.TraceID
	binary.LittleEndian.PutUint64(id[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(id[8:], rand.Uint64()|1) // never zero
	return id
}

// NewSpanID: see NewTraceID.
func NewSpanID() trace.SpanID {
	var id trace.SpanID
	binary.LittleEndian.PutUint64(id[:], rand.Uint64()|1)
	return id
}

// CallSpan is what the host knows of a call when its service replies.
type CallSpan struct {
	Trace   trace.TraceID
	Span    trace.SpanID
	Parent  trace.SpanID // zero: the call starts its trace
	Sampled bool         // the parent's trace flags said so (always, for a root)
	Guest   string
	Method  string
	Code    string // the reply's code in words: "ok" for success
	Failed  bool   // Code is not ok
	// Failed: the error's message (ErrorText bounds it before it is
	// queued) and the full name of its typed error (the message type of
	// its first detail), either empty when it has none.
	Message string
	Error   string
	Request int   // bytes
	Reply   int   // bytes
	Pushed  int64 // Unix nanos: into the service's inbox (the span's start)
	Drained int64 // out of it
	Replied int64 // the span's end
	// Deadline is the call's deadline (Unix nanos; zero for none): its
	// caller's, which the service saw with the call. A reply after it is
	// late (see Late).
	Deadline int64
	// Topic, when the call delivered a message of a topic to a
	// subscribed service, is the topic: the span is a consumer's, with
	// OpenTelemetry's messaging attributes.
	Topic string
	// HTTP, when the call was a request a guest sent to an external HTTP
	// API (an http block), says what it was: the span is a client's, with
	// OpenTelemetry's HTTP client attributes. Nil for every other call.
	HTTP *HTTPSpan
}

// HTTPSpan is what a client span of an outbound HTTP request says besides
// what every call's span does.
type HTTPSpan struct {
	Method string // GET, POST...
	URL    string // the full URL, without its query
	Host   string // server.address
	Port   int    // server.port
	Status int    // the response's status code; 0: no response
}

// Record queues c's span to be made. It never blocks: a call recorded while
// the queue is full, or after Shutdown, gets no span.
func (t *Tracing) Record(c CallSpan) {
	select {
	case <-t.done:
		return
	default:
	}
	select {
	case t.calls <- c:
	default:
		t.dropped.Add(1)
	}
}

// Dropped is how many calls got no span because they came faster than
// spans were made.
func (t *Tracing) Dropped() int64 { return t.dropped.Load() }

// makeSpans makes the spans of the recorded calls until Shutdown, and then
// of those still queued.
func (t *Tracing) makeSpans() {
	defer close(t.drained)
	for {
		select {
		case c := <-t.calls:
			t.span(c)
		case <-t.done:
			for {
				select {
				case c := <-t.calls:
					t.span(c)
				default:
					return
				}
			}
		}
	}
}

// span makes c's span, with the ids the host chose.
func (t *Tracing) span(c CallSpan) {
	ctx := context.WithValue(context.Background(), chosenKey{}, c.Span)
	if c.Parent.IsValid() {
		flags := trace.TraceFlags(0)
		if c.Sampled {
			flags = trace.FlagsSampled
		}
		ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: c.Trace, SpanID: c.Parent, TraceFlags: flags, Remote: true}))
	} else {
		ctx = context.WithValue(ctx, chosenTraceKey{}, c.Trace)
	}
	if c.HTTP != nil {
		t.httpSpan(ctx, c)
		return
	}
	kind := trace.SpanKindServer
	if c.Topic != "" {
		kind = trace.SpanKindConsumer
	}
	_, span := t.tracer.Start(ctx, c.Method,
		trace.WithSpanKind(kind),
		trace.WithTimestamp(time.Unix(0, c.Pushed)),
		trace.WithAttributes(
			attribute.String("parigot.guest", c.Guest),
			attribute.String("rpc.system", "parigot"),
			attribute.String("rpc.method", c.Method),
			attribute.String("rpc.parigot.code", c.Code),
			attribute.Int("rpc.request.size", c.Request),
			attribute.Int("rpc.response.size", c.Reply),
			attribute.Int64("parigot.inbox_wait_ns", c.Drained-c.Pushed),
			attribute.Int64("parigot.execution_ns", c.Replied-c.Drained),
		))
	if c.Error != "" {
		span.SetAttributes(attribute.String("rpc.parigot.error", c.Error))
	}
	if c.Topic != "" {
		span.SetAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", c.Topic),
			attribute.String("messaging.operation.type", "process"),
		)
	}
	late := c.Late()
	if late > 0 {
		span.SetAttributes(attribute.Int64("parigot.late_ns", int64(late)))
	}
	switch {
	case c.Failed:
		desc := c.Message
		if desc == "" {
			desc = c.Code
		}
		span.SetStatus(codes.Error, desc)
	case late > 0:
		span.SetStatus(codes.Error, LateText(late))
	}
	span.End(trace.WithTimestamp(time.Unix(0, c.Replied)))
}

// Late is how long after the call's deadline its service replied; zero
// when it replied in time or the call had no deadline. A caller stops
// waiting at its deadline, with deadline exceeded, and drops a reply that
// comes after.
func (c *CallSpan) Late() time.Duration {
	if c.Deadline == 0 || c.Replied <= c.Deadline {
		return 0
	}
	return time.Duration(c.Replied - c.Deadline)
}

// LateText is the status message of the span of a call that its service
// answered after its caller's deadline, whatever the code it
// answered (rpc.parigot.code keeps it).
func LateText(late time.Duration) string {
	return fmt.Sprintf("late: replied %s after its caller's deadline, when the caller had stopped waiting (deadline exceeded)", late.Round(time.Microsecond))
}

// httpSpan makes the client span of an outbound HTTP request, named and
// described as OpenTelemetry's HTTP conventions say: its name the method,
// a response of 4xx or 5xx an error, and error.type the status code or,
// with no response, the code of the failure.
func (t *Tracing) httpSpan(ctx context.Context, c CallSpan) {
	h := c.HTTP
	_, span := t.tracer.Start(ctx, h.Method,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(time.Unix(0, c.Pushed)),
		trace.WithAttributes(
			attribute.String("parigot.guest", c.Guest),
			attribute.String("parigot.http", c.Method),
			attribute.String("http.request.method", h.Method),
			attribute.String("url.full", h.URL),
			attribute.String("server.address", h.Host),
			attribute.Int("server.port", h.Port),
			attribute.Int("http.request.body.size", c.Request),
		))
	if h.Status > 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", h.Status))
	}
	switch {
	case c.Failed:
		span.SetAttributes(attribute.String("error.type", c.Code))
		desc := c.Message
		if desc == "" {
			desc = c.Code
		}
		span.SetStatus(codes.Error, desc)
	case h.Status >= 400:
		span.SetAttributes(attribute.String("error.type", strconv.Itoa(h.Status)))
		span.SetStatus(codes.Error, "")
	}
	span.End(trace.WithTimestamp(time.Unix(0, c.Replied)))
}

// MaxErrorText bounds the message of a failed call's span, and the name of
// its typed error: a guest chose them, and a span is kept and sent.
const MaxErrorText = 1 << 10

// ErrorText is s made fit for a span: valid UTF-8, and at most
// MaxErrorText bytes, cut on a rune boundary and then marked as cut. The
// result shares no memory with a longer s, so that a span queued does not
// hold a guest's whole reply.
func ErrorText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= MaxErrorText {
		return s
	}
	cut := MaxErrorText - len(cutMark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.Clone(s[:cut]) + cutMark
}

// cutMark ends a text ErrorText cut.
const cutMark = "… (cut)"

// chosenIDs is the SDK's ID generator: it hands out the ids the host chose,
// which span puts in the context.
type chosenIDs struct{}

type (
	chosenKey      struct{}
	chosenTraceKey struct{}
)

func (chosenIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	tid, ok := ctx.Value(chosenTraceKey{}).(trace.TraceID)
	if !ok {
		tid = NewTraceID()
	}
	return tid, chosenIDs{}.NewSpanID(ctx, tid)
}

func (chosenIDs) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if sid, ok := ctx.Value(chosenKey{}).(trace.SpanID); ok {
		return sid
	}
	return NewSpanID()
}

// Shutdown makes the spans of the calls recorded so far, sends what is
// left, and stops, within ctx.
func (t *Tracing) Shutdown(ctx context.Context) error {
	t.once.Do(func() { close(t.done) })
	select {
	case <-t.drained:
	case <-ctx.Done():
		return ctx.Err()
	}
	return t.tp.Shutdown(ctx)
}

// recent keeps the latest ended spans for the dashboard: this process's,
// and in split mode those its children send to the dashboard's /v1/traces.
type recent struct {
	keep  int
	mu    sync.Mutex
	spans []kept // a ring once full
	next  int
}

// kept is a span as the dashboard needs it.
type kept struct {
	traceID, spanID, parentID string // hex; parentID empty for a root
	name, guest, code         string
	message, errorType        string // a failed call's
	start, end                time.Time
	wait                      time.Duration
	failed                    bool
}

func (r *recent) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (r *recent) OnEnd(s sdktrace.ReadOnlySpan) {
	k := kept{
		traceID: s.SpanContext().TraceID().String(),
		spanID:  s.SpanContext().SpanID().String(),
		name:    s.Name(),
		start:   s.StartTime(),
		end:     s.EndTime(),
		failed:  s.Status().Code == codes.Error,
	}
	if k.failed {
		k.message = ErrorText(s.Status().Description)
	}
	if s.Parent().IsValid() {
		k.parentID = s.Parent().SpanID().String()
	}
	for _, a := range s.Attributes() {
		k.attribute(string(a.Key), a.Value.AsString(), a.Value.AsInt64())
	}
	r.add(k)
}

// attribute takes what the dashboard shows of a span's attribute.
func (k *kept) attribute(key, s string, n int64) {
	switch key {
	case "parigot.guest":
		k.guest = s
	case "rpc.parigot.code":
		k.code = s
	case "rpc.parigot.error":
		k.errorType = ErrorText(s)
	case "parigot.inbox_wait_ns":
		k.wait = time.Duration(n)
	// An outbound HTTP request's span (httpSpan): the waterfall names it
	// by its method and URL, and shows its status, or why it has none.
	case "url.full":
		k.name += " " + s
	case "http.response.status_code":
		k.code = strconv.FormatInt(n, 10)
	case "error.type":
		if k.code == "" {
			k.code = s
		}
	}
}

func (r *recent) add(k kept) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.spans) < r.keep {
		r.spans = append(r.spans, k)
		return
	}
	r.spans[r.next] = k
	r.next = (r.next + 1) % r.keep
}

func (r *recent) Shutdown(context.Context) error   { return nil }
func (r *recent) ForceFlush(context.Context) error { return nil }

// snapshot is the kept spans, oldest first.
func (r *recent) snapshot() []kept {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]kept, 0, len(r.spans))
	out = append(out, r.spans[r.next:]...)
	return append(out, r.spans[:r.next]...)
}
