package host

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

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
