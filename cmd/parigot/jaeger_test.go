package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parigot.dev/parigot/internal/syncbuf"
)

// jaegerVersion is the Jaeger release the test runs, as CI builds it (see
// .ci/run: `go install` refuses the module for its replace directive, so it
// is built inside the module's own directory).
const jaegerVersion = "v1.76.0"

// TestSpansReachJaeger runs the chain app (a program calls front, which
// calls back) with --otlp pointing at a real Jaeger, in each mode, and asks
// Jaeger's query API for what it stored: one trace of the app, whose spans
// are front's Relay and, its child, back's Relay, each named by its guest.
// In split mode each span comes from its own process, and Jaeger joins them.
func TestSpansReachJaeger(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	bin := jaegerBinary(t)
	for _, mode := range []string{"single", "split"} {
		t.Run(mode, func(t *testing.T) {
			j := startJaeger(t, bin)
			p := startParigot(t, "", nil, "run", "--mode="+mode, "--otlp", j.otlp, "testdata/apps/chain")
			if err := p.wait(t); err != nil || !strings.Contains(p.said(), "start | relayed: traced") {
				t.Fatalf("parigot run --otlp: %v\n%s", err, p.said())
			}
			trace := j.waitForTrace(t, "chain", 2)
			byName := map[string]jaegerSpan{}
			for _, s := range trace.Spans {
				byName[s.OperationName] = s
			}
			front, back := byName["test.Front/Relay"], byName["test.Back/Relay"]
			if len(trace.Spans) != 2 || front.SpanID == "" || back.SpanID == "" {
				t.Fatalf("Jaeger's trace has spans %+v; want test.Front/Relay and test.Back/Relay", trace.Spans)
			}
			if len(front.References) != 0 {
				t.Errorf("front's span has references %+v; want none: the program's call starts the trace", front.References)
			}
			if len(back.References) != 1 || back.References[0].RefType != "CHILD_OF" || back.References[0].SpanID != front.SpanID {
				t.Errorf("back's span has references %+v; want CHILD_OF front's span %s", back.References, front.SpanID)
			}
			for guest, s := range map[string]jaegerSpan{"front": front, "back": back} {
				if got := s.tag("parigot.guest"); got != guest {
					t.Errorf("%s's span has parigot.guest %q", guest, got)
				}
				if got := s.tag("rpc.parigot.code"); got != "ok" {
					t.Errorf("%s's span has rpc.parigot.code %q, want ok", guest, got)
				}
				p := trace.Processes[s.ProcessID]
				if p.ServiceName != "chain" {
					t.Errorf("%s's span comes from service %q, want the app, chain", guest, p.ServiceName)
				}
				if mode == "split" && p.tag("service.instance.id") != guest {
					t.Errorf("in split mode %s's span comes from process %+v, want its own guest's", guest, p)
				}
			}
		})
	}
}

// jaegerBinary is Jaeger's all-in-one binary (Jaeger v2, built on the
// OpenTelemetry Collector): on PATH, or skipped without it unless CI
// requires the tools.
func jaegerBinary(t *testing.T) string {
	bin, err := exec.LookPath("jaeger")
	if err == nil {
		return bin
	}
	const how = "build Jaeger " + jaegerVersion + " as .ci/run does"
	if os.Getenv("PARIGOT_REQUIRE_TOOLS") != "" {
		t.Fatal("Jaeger (jaeger) is not on PATH, and PARIGOT_REQUIRE_TOOLS is set: " + how)
	}
	t.Skip("Jaeger (jaeger) is not on PATH: " + how)
	return ""
}

// jaeger is one Jaeger process of a test: its OTLP/HTTP receiver's URL
// (what --otlp takes) and its query API's.
type jaeger struct {
	otlp, query string
	out         syncbuf.Buffer
}

// jaegerConfig is Jaeger's all-in-one configuration cut down to the test's
// needs: OTLP over HTTP in, memory storage, the query API; each address a
// free loopback port, and no telemetry of its own on fixed ports.
const jaegerConfig = `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memory:
        memory:
          max_traces: 1000
  jaeger_query:
    storage:
      traces: memory
    http:
      endpoint: %s
    grpc:
      endpoint: %s
receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
exporters:
  jaeger_storage_exporter:
    trace_storage: memory
`

// startJaeger starts Jaeger on free loopback ports and waits until its
// query API answers; the test's cleanup stops it.
func startJaeger(t *testing.T, bin string) *jaeger {
	t.Helper()
	query, grpc, otlp := freeAddr(t), freeAddr(t), freeAddr(t)
	config := filepath.Join(t.TempDir(), "jaeger.yaml")
	if err := os.WriteFile(config, fmt.Appendf(nil, jaegerConfig, query, grpc, otlp), 0o644); err != nil {
		t.Fatal(err)
	}
	j := &jaeger{otlp: "http://" + otlp, query: "http://" + query}
	cmd := exec.Command(bin, "--config", "file:"+config)
	cmd.Stdout, cmd.Stderr = &j.out, &j.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(patienceForParigot)
	for {
		resp, err := http.Get(j.query + "/api/services")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return j
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Jaeger's query API never answered at %s:\n%s", j.query, j.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freeAddr is a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Jaeger's query API (its /api/traces JSON), as much as the test reads.
type (
	jaegerTrace struct {
		TraceID   string                   `json:"traceID"`
		Spans     []jaegerSpan             `json:"spans"`
		Processes map[string]jaegerProcess `json:"processes"`
	}
	jaegerSpan struct {
		SpanID        string `json:"spanID"`
		OperationName string `json:"operationName"`
		References    []struct {
			RefType string `json:"refType"`
			SpanID  string `json:"spanID"`
		} `json:"references"`
		ProcessID string      `json:"processID"`
		Tags      []jaegerTag `json:"tags"`
	}
	jaegerProcess struct {
		ServiceName string      `json:"serviceName"`
		Tags        []jaegerTag `json:"tags"`
	}
	jaegerTag struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	}
)

func (s jaegerSpan) tag(key string) string    { return tagValue(s.Tags, key) }
func (p jaegerProcess) tag(key string) string { return tagValue(p.Tags, key) }

func tagValue(tags []jaegerTag, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return fmt.Sprint(t.Value)
		}
	}
	return ""
}

// waitForTrace asks Jaeger for the traces of service until one has spans
// spans (the processes send theirs as they end, in batches), for
// patienceForParigot at most, and returns it.
func (j *jaeger) waitForTrace(t *testing.T, service string, spans int) jaegerTrace {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patienceForParigot)
	defer cancel()
	var last string
	for ctx.Err() == nil {
		var got struct {
			Data []jaegerTrace `json:"data"`
		}
		resp, err := http.Get(j.query + "/api/traces?service=" + service + "&limit=20")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&got)
			resp.Body.Close()
		}
		if err == nil {
			last = fmt.Sprintf("%+v", got.Data)
			for _, tr := range got.Data {
				if len(tr.Spans) >= spans {
					return tr
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("Jaeger has no trace of %s with %d spans; the last answer: %s\nJaeger said:\n%s", service, spans, last, j.out.String())
	return jaegerTrace{}
}
