package observe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/proto"

	"parigot.dev/parigot/internal/otlptest"
	"parigot.dev/parigot/internal/otlpwire"
)

func TestQuantileInterpolatesWithinItsBucket(t *testing.T) {
	h := &dto.Histogram{SampleCount: proto.Uint64(10), Bucket: []*dto.Bucket{
		{UpperBound: proto.Float64(1), CumulativeCount: proto.Uint64(0)},
		{UpperBound: proto.Float64(2), CumulativeCount: proto.Uint64(10)},
		{UpperBound: proto.Float64(math.Inf(1)), CumulativeCount: proto.Uint64(10)},
	}}
	for q, want := range map[float64]float64{0.5: 1.5, 0.99: 1.99} {
		if got := quantile(q, h); got == nil || math.Abs(*got-want) > 1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if got := quantile(0.5, &dto.Histogram{}); got != nil {
		t.Errorf("quantile of no observations = %v, want none", *got)
	}
}

// TestExportDecodesAsItWasEncoded: what the dashboard's intake reads is
// what the exporter wrote, parents and attributes included.
func TestExportDecodesAsItWasEncoded(t *testing.T) {
	tr := NewTracing(TracingOptions{App: "app"})
	defer tr.Shutdown(t.Context())
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithIDGenerator(chosenIDs{}))
	tr.tracer = tp.Tracer("test")
	root := CallSpan{Trace: NewTraceID(), Span: NewSpanID(), Sampled: true, Guest: "front", Method: "a.F/M", Code: "ok", Pushed: 1e9, Drained: 2e9, Replied: 5e9}
	child := root
	child.Span, child.Parent, child.Guest, child.Code, child.Failed = NewSpanID(), root.Span, "back", "not found", true
	child.Message, child.Error = "no such account", "bank.v1.NoAccount"
	tr.span(root)
	tr.span(child)
	if st := rec.Ended()[1].Status(); st.Description != "no such account" {
		t.Errorf("the failed call's span has status %+v, want its error's message", st)
	}
	body, err := exportRequest(rec.Ended())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := otlpwire.DecodeTraces(body)
	if err != nil {
		t.Fatal(err)
	}
	var got []kept
	for _, r := range rs {
		for _, ss := range r.ScopeSpans {
			for _, s := range ss.Spans {
				got = append(got, fromOTLP(s))
			}
		}
	}
	if len(got) != 2 {
		t.Fatalf("decoded %d spans, want 2", len(got))
	}
	want := []kept{
		{traceID: root.Trace.String(), spanID: root.Span.String(), name: "a.F/M", guest: "front", code: "ok",
			start: time.Unix(1, 0), end: time.Unix(5, 0), wait: time.Second},
		{traceID: root.Trace.String(), spanID: child.Span.String(), parentID: root.Span.String(), name: "a.F/M", guest: "back", code: "not found",
			start: time.Unix(1, 0), end: time.Unix(5, 0), wait: time.Second, failed: true, message: "no such account", errorType: "bank.v1.NoAccount"},
	}
	for i := range want {
		if g, w := got[i], want[i]; g.traceID != w.traceID || g.spanID != w.spanID || g.parentID != w.parentID || g.guest != w.guest ||
			g.code != w.code || g.message != w.message || g.errorType != w.errorType || !g.start.Equal(w.start) || !g.end.Equal(w.end) || g.wait != w.wait || g.failed != w.failed || g.name != w.name {
			t.Errorf("span %d: got %+v, want %+v", i, g, w)
		}
	}
}

// FuzzDecodeExport: the dashboard's /v1/traces reads bodies from the
// network; none may panic it.
func FuzzDecodeExport(f *testing.F) {
	f.Add([]byte{0x0a, 0x00})
	f.Add([]byte{0x0a, 0x02, 0x12, 0x00, 0x10, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := otlpwire.DecodeTraces(b)
		if err != nil {
			return
		}
		for _, r := range rs {
			for _, ss := range r.ScopeSpans {
				for _, s := range ss.Spans {
					fromOTLP(s)
				}
			}
		}
	})
}

func TestLogsOfATrace(t *testing.T) {
	l := NewLogs(3)
	for _, r := range []string{
		`{"guest":"a","msg":"1","trace_id":"t1"}`,
		`not json`,
		`{"guest":"b","msg":"2"}`,
		`{"guest":"a","msg":"3","trace_id":"t1"}`,
		`{"guest":"c","msg":"4","trace_id":"t2"}`,
	} {
		l.Add([]byte(r))
	}
	text := func(rs []json.RawMessage) (out []string) {
		for _, r := range rs {
			out = append(out, string(r))
		}
		return out
	}
	if got := text(l.of("t1")); len(got) != 1 || got[0] != `{"guest":"a","msg":"3","trace_id":"t1"}` {
		t.Errorf("of(t1) = %q: the first line of t1 is out of the ring, the second in", got)
	}
	if got := text(l.of("")); len(got) != 3 || got[0] != `{"guest":"b","msg":"2"}` {
		t.Errorf("of(\"\") = %q, want the three latest, oldest first", got)
	}
}

// The records kept are bounded in bytes too: long lines of output cannot
// grow the dashboard's memory past MaxLogBytes, and the latest are kept.
func TestLogsKeepABoundedNumberOfBytes(t *testing.T) {
	l := NewLogs(2000)
	msg := strings.Repeat("x", 512<<10)
	for i := range 100 {
		l.Add(fmt.Appendf(nil, `{"guest":"a","msg":"%d %s"}`, i, msg))
	}
	all := l.of("")
	size := 0
	for _, r := range all {
		size += len(r)
	}
	if size > MaxLogBytes || len(all) < MaxLogBytes/(600<<10) {
		t.Errorf("%d records of %d bytes kept, want at most %d bytes, and most of them", len(all), size, MaxLogBytes)
	}
	if last := string(all[len(all)-1]); !strings.HasPrefix(last, `{"guest":"a","msg":"99 `) {
		t.Errorf("the latest record is not kept: %.40s", last)
	}
}

// FuzzTakePush: the dashboard's /v1/metrics reads bodies from the network;
// none may panic it, and what it takes, /metrics can serve.
func FuzzTakePush(f *testing.F) {
	f.Add([]byte{0x02, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		m := NewMetrics()
		if m.pushed.take("p", bytes.NewReader(b)) == nil {
			m.pushed.Gather()
		}
	})
}

// TestARestartedChildsMetricsReplaceItsPredecessors: a split-mode child
// killed from outside comes back as a new process, which pushes series of
// the same guest; the dashboard shows the new process's, and a scrape never
// fails on the two clashing.
func TestARestartedChildsMetricsReplaceItsPredecessors(t *testing.T) {
	push := func(calls int) []byte {
		child := NewMetrics()
		for range calls {
			child.Call("greeting", "greeting.v1.Greeting/FetchGreeting", "ok", "hello", time.Microsecond, time.Microsecond)
		}
		child.Watch("greeting", func() Reading { return Reading{Memory: 1 << 20} })
		return pushOf(t, child)
	}
	d := NewMetrics()
	other := NewMetrics()
	other.Watch("hello", func() Reading { return Reading{Memory: 2 << 20} })
	if err := d.pushed.take("greeting-100", bytes.NewReader(push(3))); err != nil {
		t.Fatal(err)
	}
	if err := d.pushed.take("hello-101", bytes.NewReader(pushOf(t, other))); err != nil {
		t.Fatal(err)
	}
	if err := d.pushed.take("greeting-200", bytes.NewReader(push(1))); err != nil { // the restarted child
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	d.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d\n%s", rec.Code, body)
	}
	for _, want := range []string{
		`parigot_calls_total{caller="hello",code="ok",guest="greeting",method="greeting.v1.Greeting/FetchGreeting"} 1`,
		`parigot_guest_memory_bytes{guest="greeting"} 1.048576e+06`,
		`parigot_guest_memory_bytes{guest="hello"} 2.097152e+06`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
}

// pushOf is what m pushes: its parigot_* families, delimited.
func pushOf(t *testing.T, m *Metrics) []byte {
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "parigot_") {
			protodelim.MarshalTo(&body, f)
		}
	}
	return body.Bytes()
}

// An OTLP receiver that cannot be reached is said once, with what to
// check, however many batches fail; and once more when it answers again.
func TestAnUnreachableOTLPReceiverIsSaidOnce(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	_, s := tp.Tracer("test").Start(t.Context(), "call")
	s.End()
	var said []string
	answer := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !answer {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	e := newOTLPExporter(srv.URL, func(msg string) { said = append(said, msg) })
	for range 3 {
		if err := e.ExportSpans(t.Context(), rec.Ended()); err != nil {
			t.Errorf("a failed batch returned %v: the SDK would log it too", err)
		}
	}
	answer = true
	e.ExportSpans(t.Context(), rec.Ended())
	e.ExportSpans(t.Context(), rec.Ended())
	if len(said) != 2 || !strings.Contains(said[0], srv.URL+"/v1/traces: 503 Service Unavailable: the receiver refuses the spans; is it an OTLP/HTTP receiver") ||
		said[1] != "sending spans to "+srv.URL+"/v1/traces again" {
		t.Errorf("said %q, want the failure once, then that it works again", said)
	}
}

// A failure of another kind than the last is said anew, with its own
// hint: a receiver that was not listening, then listens but answers 404
// (its path is not where parigot sends), then refuses with 501.
func TestAnOTLPFailureOfAnotherKindIsSaidAnew(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	_, s := tp.Tracer("test").Start(t.Context(), "call")
	s.End()
	status := http.StatusNotFound
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", status)
	}))
	defer srv.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close() // nothing listens there now: connections are refused
	var said []string
	e := newOTLPExporter("http://"+closed.Addr().String(), func(msg string) { said = append(said, msg) })
	export := func(times int) {
		for range times {
			e.ExportSpans(t.Context(), rec.Ended())
		}
	}
	export(2)                           // not listening: refused
	e.url = srv.URL + "/otlp/v1/traces" // as if it came up there, taking traces elsewhere
	export(2)                           // 404
	status = http.StatusNotImplemented
	export(2) // 501
	want := []string{"; is an OTLP/HTTP collector listening there (--otlp)?", "404 Not Found: nothing takes OTLP traces at that URL", "501 Not Implemented: the receiver refuses the spans"}
	if len(said) != len(want) {
		t.Fatalf("said %q, want one warning for each kind of failure: %q", said, want)
	}
	for i, w := range want {
		if !strings.Contains(said[i], w) {
			t.Errorf("warning %d is %q, want one with %q", i+1, said[i], w)
		}
	}
}

// A failed call's message is cut to MaxErrorText bytes on a rune boundary,
// marked as cut; a short one is kept whole, with invalid UTF-8 replaced.
func TestErrorTextIsBounded(t *testing.T) {
	long := strings.Repeat("é", MaxErrorText) // two bytes each
	got := ErrorText(long)
	if len(got) > MaxErrorText || !utf8.ValidString(got) || !strings.HasSuffix(got, "… (cut)") || !strings.HasPrefix(long, strings.TrimSuffix(got, "… (cut)")) {
		t.Errorf("ErrorText of %d bytes = %d bytes %q: want at most %d, valid UTF-8, a prefix marked cut", len(long), len(got), got, MaxErrorText)
	}
	for in, want := range map[string]string{"no none left": "no none left", "bad \xff byte": "bad \uFFFD byte", "": ""} {
		if got := ErrorText(in); got != want {
			t.Errorf("ErrorText(%q) = %q, want %q", in, got, want)
		}
	}
}

// --otlp takes a receiver's base URL, to which /v1/traces is added, or its
// full traces endpoint (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT's form), used as
// it is: the real receiver of the tests gets the spans either way.
func TestOTLPTakesABaseURLOrTheTracesEndpoint(t *testing.T) {
	for _, c := range []struct{ given, want string }{
		{"http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"},
		{"http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces"},
		{"http://127.0.0.1:4318/v1/traces", "http://127.0.0.1:4318/v1/traces"},
		{"http://127.0.0.1:4318/v1/traces/", "http://127.0.0.1:4318/v1/traces"},
		{"https://otlp.example.com/tenant/v1/traces?key=k", "https://otlp.example.com/tenant/v1/traces?key=k"},
		{"https://otlp.example.com/otlp", "https://otlp.example.com/otlp/v1/traces"},
	} {
		if got := TracesURL(c.given); got != c.want {
			t.Errorf("TracesURL(%q) = %q, want %q", c.given, got, c.want)
		}
	}
	for _, form := range []string{"", "/", "/v1/traces"} {
		t.Run("--otlp URL"+form, func(t *testing.T) {
			rcv := otlptest.Start(t)
			said := exportOneSpan(t, rcv.URL()+form)
			rcv.WaitFor(t, 30*time.Second, func(s []otlptest.Span) bool { return len(s) == 1 && s[0].Name == "a.S/M" })
			if len(said) != 0 {
				t.Errorf("said %q", said)
			}
		})
	}
}

// A receiver that answers 404 Not Found listens but takes no traces where
// parigot sent them: the warning names the URL tried and the forms --otlp
// takes.
func TestA404SaysWhatOTLPShouldBe(t *testing.T) {
	rcv := otlptest.Start(t)
	said := exportOneSpan(t, rcv.URL()+"/otlp")
	u := rcv.URL()
	want := "sending spans to " + u + "/otlp/v1/traces: 404 Not Found: nothing takes OTLP traces at that URL. --otlp (" + u + "/otlp) should be the receiver's base URL, such as " +
		u + " (parigot adds /v1/traces), or its traces endpoint, such as " + u + "/v1/traces. Spans are dropped until it takes them"
	if len(said) != 1 || said[0] != want {
		t.Errorf("said %q, want once %q", said, want)
	}
}

// exportOneSpan sends the span of one call of a.S/M to the OTLP receiver
// at url, and returns what tracing warned of meanwhile.
func exportOneSpan(t *testing.T, url string) (said []string) {
	t.Helper()
	tr := NewTracing(TracingOptions{App: "app", OTLP: []string{url}, Warn: func(s string) { said = append(said, s) }})
	tr.Record(CallSpan{Trace: NewTraceID(), Span: NewSpanID(), Sampled: true, Guest: "g", Method: "a.S/M", Code: "ok", Pushed: 1e9, Drained: 2e9, Replied: 3e9})
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	return said
}

func TestTheDashboardNamesARequestByItsURLAndShowsItsStatus(t *testing.T) {
	tr := NewTracing(TracingOptions{App: "test", Keep: 10})
	now := time.Now().UnixNano()
	tr.Record(CallSpan{Trace: NewTraceID(), Span: NewSpanID(), Sampled: true, Guest: "checkout", Method: "http.payments/Request",
		Code: "ok", Pushed: now, Replied: now + 1, HTTP: &HTTPSpan{Method: "POST", URL: "https://api.example.com/v1/charges", Host: "api.example.com", Port: 443, Status: 402}})
	tr.Record(CallSpan{Trace: NewTraceID(), Span: NewSpanID(), Sampled: true, Guest: "checkout", Method: "http.payments/Request",
		Code: "unavailable", Failed: true, Message: "cannot be reached", Pushed: now, Replied: now + 1, HTTP: &HTTPSpan{Method: "GET", URL: "https://api.example.com/v1/x"}})
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := map[string]Span{}
	for _, tc := range groupTraces(tr.recent.snapshot()) {
		for _, s := range tc.Spans {
			got[s.Name] = s
		}
	}
	if s := got["POST https://api.example.com/v1/charges"]; s.Code != "402" || !s.Error || s.Guest != "checkout" {
		t.Errorf("the 402's span: %+v (all: %+v)", s, got)
	}
	if s := got["GET https://api.example.com/v1/x"]; s.Code != "unavailable" || !s.Error || s.Message != "cannot be reached" {
		t.Errorf("the unreachable request's span: %+v (all: %+v)", s, got)
	}
}
