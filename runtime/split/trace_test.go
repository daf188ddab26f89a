package split

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"parigot.dev/parigot/internal/otlptest"
	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/observe"
)

// envChildOTLP, when set, is the OTLP receiver a test child sends its
// spans to.
const envChildOTLP = "PARIGOT_SPLIT_TEST_CHILD_OTLP"

func childTracing(name string) *observe.Tracing {
	url := os.Getenv(envChildOTLP)
	if url == "" {
		return nil
	}
	return observe.NewTracing(observe.TracingOptions{App: "test", Process: name, OTLP: []string{url}})
}

func shutdownTracing(t *observe.Tracing) {
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t.Shutdown(ctx)
}

// runTraced runs guests in one process, tracing to a receiver of their
// own, and returns it once the run's spans are sent, with the run's result
// and output; a run that fails ends t.
func runTraced(t *testing.T, guests []*host.GuestSpec) (*otlptest.Receiver, host.Result, string) {
	t.Helper()
	rcv := otlptest.Start(t)
	tracing := observe.NewTracing(observe.TracingOptions{App: "test", OTLP: []string{rcv.URL()}})
	var out lines.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	res, err := host.Run(ctx, host.Config{Guests: guests, Stdout: &out, Stderr: &out, Tracing: tracing})
	shutdownTracing(tracing)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	return rcv, res, out.String()
}

// TestTracesFollowAChainOfCalls sends a call down front -> middle -> back
// with tracing on, in one process and then in one process per guest, and
// expects the OTLP receiver to get one trace of three spans, each the
// parent of the next: in split mode the context crosses NATS in the
// traceparent header.
func TestTracesFollowAChainOfCalls(t *testing.T) {
	guests := func(t *testing.T) []*host.GuestSpec { // a subtest's t, which a -short run skips
		return chainGuests(t, 10*time.Second, 10*time.Second, 10*time.Second, "CHAIN_SCENARIO=relay", "CHAIN_REQUEST=traced")
	}
	t.Run("in one process", func(t *testing.T) {
		rcv, res, out := runTraced(t, guests(t))
		if res.ExitCode != 0 || len(res.Failures) != 0 {
			t.Fatalf("Run: %+v\n%s", res, out)
		}
		checkChain(t, rcv, false)
	})
	t.Run("one process per guest, over NATS", func(t *testing.T) {
		rcv := otlptest.Start(t)
		t.Setenv(envChildOTLP, rcv.URL())
		res, stdout, stderr := supervise(t, guests(t), nil, nil)
		if res.ExitCode != 0 || len(res.Failures) != 0 {
			t.Fatalf("%+v\n%s\n%s", res, stdout, stderr)
		}
		checkChain(t, rcv, true)
	})
}

// checkChain waits for the spans of Front, Middle and Back/Relay and checks
// that they form one trace, front the root; split: each from its own guest's
// process.
func checkChain(t *testing.T, rcv *otlptest.Receiver, split bool) {
	t.Helper()
	front, middle, back := chainSpans(t, rcv)
	if front.ParentID != "" {
		t.Errorf("front's span has a parent, %s: the program's call should start the trace", front.ParentID)
	}
	if middle.TraceID != front.TraceID || back.TraceID != front.TraceID {
		t.Errorf("trace ids: front %s, middle %s, back %s; want one trace", front.TraceID, middle.TraceID, back.TraceID)
	}
	if middle.ParentID != front.SpanID || back.ParentID != middle.SpanID {
		t.Errorf("parents: middle's %s (front is %s), back's %s (middle is %s)", middle.ParentID, front.SpanID, back.ParentID, middle.SpanID)
	}
	for _, s := range []otlptest.Span{front, middle, back} {
		if s.Attrs["rpc.parigot.code"] != "ok" || s.Attrs["rpc.request.size"] == "" || s.Attrs["parigot.inbox_wait_ns"] == "" || s.Attrs["parigot.execution_ns"] == "" {
			t.Errorf("span %s lacks what a call's span says: %v", s.Name, s.Attrs)
		}
		if s.Resource["service.name"] != "test" {
			t.Errorf("span %s: resource %v, want service.name test", s.Name, s.Resource)
		}
	}
	if split {
		for guest, s := range map[string]otlptest.Span{"front": front, "middle": middle, "back": back} {
			if s.Resource["service.instance.id"] != guest {
				t.Errorf("span %s came from %q, want the process of %s", s.Name, s.Resource["service.instance.id"], guest)
			}
		}
	}
}

// chainSpans waits for the spans of Front, Middle and Back/Relay, and
// returns them.
func chainSpans(t *testing.T, rcv *otlptest.Receiver) (front, middle, back otlptest.Span) {
	t.Helper()
	want := []string{"test.Front/Relay", "test.Middle/Relay", "test.Back/Relay"}
	byName := map[string]otlptest.Span{}
	rcv.WaitFor(t, patience, func(spans []otlptest.Span) bool {
		for _, s := range spans {
			byName[s.Name] = s
		}
		for _, n := range want {
			if _, ok := byName[n]; !ok {
				return false
			}
		}
		return true
	})
	return byName[want[0]], byName[want[1]], byName[want[2]]
}

// TestLogLinesCarryTheirTrace runs the chain with a request that back
// fails, JSON output and tracing on: the line middle prints as its call to
// back fails is tagged with the span of the call middle was serving.
func TestLogLinesCarryTheirTrace(t *testing.T) {
	guests := chainGuests(t, 10*time.Second, 10*time.Second, 10*time.Second, "CHAIN_SCENARIO=relay", "CHAIN_REQUEST=fail")
	rcv := otlptest.Start(t)
	tracing := observe.NewTracing(observe.TracingOptions{App: "test", OTLP: []string{rcv.URL()}})
	var out lines.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if _, err := host.Run(ctx, host.Config{Guests: guests, Stdout: &out, Stderr: &out, Tracing: tracing, LogJSON: true}); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	shutdownTracing(tracing)
	var middle otlptest.Span
	rcv.WaitFor(t, patience, func(spans []otlptest.Span) bool {
		for _, s := range spans {
			if s.Name == "test.Middle/Relay" {
				middle = s
				return true
			}
		}
		return false
	})
	var found bool
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var rec map[string]string
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Errorf("a line that is no JSON object: %q (%v)", l, err)
			continue
		}
		if rec["guest"] == "middle" && strings.HasPrefix(rec["msg"], "relay failed") {
			found = true
			if rec["trace_id"] != middle.TraceID || rec["span_id"] != middle.SpanID {
				t.Errorf("middle's line is tagged trace %q span %q, want its call's %s %s", rec["trace_id"], rec["span_id"], middle.TraceID, middle.SpanID)
			}
		}
	}
	if !found {
		t.Errorf("no line of middle's failed relay:\n%s", out.String())
	}
}

// TestAFailedCallsSpansSayItsError runs the chain with a request that back
// fails with a message and a typed detail, which middle and front forward:
// in one process and in one process per guest, each of the three spans
// says the error's message as its status's, and the typed error's full
// name as rpc.parigot.error, beside its code.
func TestAFailedCallsSpansSayItsError(t *testing.T) {
	guests := func(t *testing.T) []*host.GuestSpec { // a subtest's t, which a -short run skips
		return chainGuests(t, 10*time.Second, 10*time.Second, 10*time.Second, "CHAIN_SCENARIO=relay", "CHAIN_REQUEST=fail")
	}
	check := func(t *testing.T, rcv *otlptest.Receiver) {
		t.Helper()
		front, middle, back := chainSpans(t, rcv)
		for _, s := range []otlptest.Span{front, middle, back} {
			if !s.Error || s.Message != "balance too low" || s.Attrs["rpc.parigot.code"] != "failed precondition" ||
				s.Attrs["rpc.parigot.error"] != "google.protobuf.Int64Value" {
				t.Errorf("span %s: error %v, status message %q, attributes %v; want an error with message %q, rpc.parigot.code %q and rpc.parigot.error %q",
					s.Name, s.Error, s.Message, s.Attrs, "balance too low", "failed precondition", "google.protobuf.Int64Value")
			}
		}
	}
	t.Run("in one process", func(t *testing.T) {
		rcv, _, _ := runTraced(t, guests(t))
		check(t, rcv)
	})
	t.Run("one process per guest, over NATS", func(t *testing.T) {
		rcv := otlptest.Start(t)
		t.Setenv(envChildOTLP, rcv.URL())
		supervise(t, guests(t), nil, nil)
		check(t, rcv)
	})
}
