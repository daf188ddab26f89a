package host

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/internal/otlptest"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/observe"
)

// What a failed call's span says of its error: the Status's message and
// its first detail's message type; for a payload that is no Status, the
// payload, bounded; for a detail that is no Any, no type.
func TestAFailedCallsSpanSaysItsErrorsMessageAndType(t *testing.T) {
	detail := func(m proto.Message) []byte {
		a, err := anypb.New(m)
		if err != nil {
			t.Fatal(err)
		}
		b, err := proto.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	long := strings.Repeat("x", 3*observe.MaxErrorText)
	for _, c := range []struct {
		name           string
		payload        []byte
		message, typed string
	}{
		{"typed", abi.EncodeError(abi.CodeFailedPrecondition, "no none left", detail(wrapperspb.Int64(0)), detail(wrapperspb.String("more"))),
			"no none left", "google.protobuf.Int64Value"},
		{"untyped", abi.EncodeError(abi.CodeInternal, "broke"), "broke", ""},
		{"no message", abi.EncodeError(abi.CodeInternal, ""), "", ""},
		{"not a Status", []byte("no status"), "no status", ""}, // 'n' is no valid tag
		{"a detail that is no Any", abi.EncodeError(abi.CodeInternal, "m", []byte{0xff}), "m", ""},
		{"long", abi.EncodeError(abi.CodeInternal, long), observe.ErrorText(long), ""},
		{"long, not a Status", []byte("n" + long), observe.ErrorText("n" + long), ""},
	} {
		message, typed := replyFailure(c.payload)
		if message != c.message || typed != c.typed {
			t.Errorf("%s: message %q, type %q; want %q, %q", c.name, message, typed, c.message, c.typed)
		}
	}
}

// A call that reached a service and ended because the service crashed is
// counted, with its code (unavailable), and makes an error span, as an
// answered call does; the call refused after the crash, which never reached
// the service, is neither.
func TestACallThatCrashedItsServiceIsCountedAndTraced(t *testing.T) {
	crash := &GuestSpec{Name: "crash", Kind: Service, Wasm: wasm(t, "crash"), Implements: []string{"test.Crash"}, MethodTimeout: patience}
	caller := &GuestSpec{Name: "crashcaller", Kind: Program, Wasm: wasm(t, "caller"), Requires: []string{"crash"}}
	rcv := otlptest.Start(t)
	tracing := observe.NewTracing(observe.TracingOptions{App: "test", OTLP: []string{rcv.URL()}})
	metrics := observe.NewMetrics()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	_, err := Run(ctx, Config{Guests: []*GuestSpec{crash, caller}, Stdout: &out, Stderr: &out, Metrics: metrics, Tracing: tracing})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if err := tracing.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	want := `parigot_calls_total{caller="crashcaller",code="unavailable",guest="crash",method="test.Crash/Boom"} 1`
	if text := rec.Body.String(); !strings.Contains(text, want) {
		t.Errorf("the metrics lack %s:\n%s", want, grepLines(text, "parigot_calls_total"))
	}
	// Shutdown sent every span: what the receiver has is all there is.
	spans := rcv.WaitFor(t, patience, func([]otlptest.Span) bool { return true })
	var booms []otlptest.Span
	for _, s := range spans {
		if s.Name == "test.Crash/Boom" {
			booms = append(booms, s)
		}
	}
	if len(booms) != 1 || !booms[0].Error || booms[0].Attrs["rpc.parigot.code"] != "unavailable" || booms[0].Message != "service crash panicked" {
		t.Errorf("spans of test.Crash/Boom: %+v; want one, an error, unavailable, saying the service panicked", booms)
	}
}

// grepLines is the lines of text that contain s.
func grepLines(text, s string) string {
	var b strings.Builder
	for line := range strings.Lines(text) {
		if strings.Contains(line, s) {
			b.WriteString(line)
		}
	}
	return b.String()
}

// A call its service answers after its caller's deadline has a span that
// says so: the caller had stopped waiting (deadline exceeded), so the
// span is not plain ok, though the code the service answered is kept. A
// call answered in time is plain ok.
func TestASpanOfAReplyAfterItsCallersDeadlineSaysItIsLate(t *testing.T) {
	ctx := context.Background()
	rcv := otlptest.Start(t)
	tracing := observe.NewTracing(observe.TracingOptions{App: "test", OTLP: []string{rcv.URL()}})
	a := &run{log: slog.New(slog.NewTextHandler(io.Discard, nil)), byService: map[string]*instance{}, trace: tracing, observing: true}
	svc := newInstance(a, &GuestSpec{Name: "pricing", Kind: Service, Implements: []string{"test.Pricing"}, MethodTimeout: time.Second})
	caller := &farEnd{}
	take := func(method string, deadline int64) uint64 {
		t.Helper()
		svc.Deliver(abi.Event{Kind: abi.KindCall, CallID: 1, Method: method, Deadline: deadline}, caller)
		ev, ok, _ := svc.next(ctx, 0)
		if !ok {
			t.Fatal("the service got no call")
		}
		svc.pop()
		return ev.CallID
	}
	inTime := take("test.Pricing/InTime", unixNano()+int64(time.Hour))
	svc.reply(inTime, abi.CodeOK, nil)
	deadline := unixNano() + int64(time.Millisecond)
	late := take("test.Pricing/Late", deadline)
	for unixNano() <= deadline { // the method runs past its caller's deadline
		time.Sleep(time.Millisecond)
	}
	svc.reply(late, abi.CodeOK, nil)
	if err := tracing.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	spans := rcv.WaitFor(t, patience, func(s []otlptest.Span) bool { return len(s) == 2 })
	for _, s := range spans {
		switch s.Name {
		case "test.Pricing/InTime":
			if s.Error || s.Attrs["parigot.late_ns"] != "" || s.Attrs["rpc.parigot.code"] != "ok" {
				t.Errorf("the span of the call answered in time is not plain ok: %+v", s)
			}
		case "test.Pricing/Late":
			if !s.Error || !strings.HasPrefix(s.Message, "late: replied ") || !strings.HasSuffix(s.Message, " after its caller's deadline, when the caller had stopped waiting (deadline exceeded)") {
				t.Errorf("the late call's span has status error %v, message %q; want an error saying it replied after its caller's deadline", s.Error, s.Message)
			}
			if s.Attrs["parigot.late_ns"] == "" || s.Attrs["rpc.parigot.code"] != "ok" {
				t.Errorf("the late call's span lacks parigot.late_ns, or changed the code it answered: %v", s.Attrs)
			}
		}
	}
}
