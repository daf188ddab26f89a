package host

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkSingleModeCall measures a program->service->program round trip in
// one process: the program makes b.N calls of the echo service, keeping
// callers of them in flight (one program guest; with callers=8 it starts a
// new call each time one completes, so 8 are always outstanding), and
// reports the latency it saw. The service decodes each request and encodes
// a new reply (test.Echo/EchoProto), as generated code does. Figures are
// measured inside the guest, so start-up is not counted.
//
//	go test ./runtime/host -run '^$' -bench SingleModeCall -benchtime=20000x
func BenchmarkSingleModeCall(b *testing.B) {
	for _, policy := range []OverrunPolicy{OverrunReport, OverrunStop} {
		for _, callers := range []int{1, 8} {
			if policy == OverrunStop && callers > 1 {
				continue // the interruptible comparison is about one call's cost
			}
			for _, size := range []int{100, 1 << 10, 64 << 10} {
				name := map[OverrunPolicy]string{OverrunReport: "report", OverrunStop: "stop"}[policy]
				b.Run(fmt.Sprintf("overrun=%s/callers=%d/payload=%d", name, callers, size), func(b *testing.B) {
					benchCalls(b, "EchoProto", size, callers, policy)
				})
			}
		}
	}
}

// BenchmarkSingleModeParts splits the cost of one single-mode call at 100 B:
// "local" is the protobuf work of a call done inside the program guest with
// no call at all (what wasm costs apart from the host); "raw" calls a service
// method that returns the request bytes without decoding them (the program's
// protobuf, the host and the guest loops, without the service's protobuf).
// BenchmarkSingleModeCall/overrun=report/callers=1/payload=100 is the whole.
//
//	go test ./runtime/host -run '^$' -bench SingleModeParts -benchtime=20000x
func BenchmarkSingleModeParts(b *testing.B) {
	for _, method := range []string{"local", "raw"} {
		b.Run(method, func(b *testing.B) {
			m := map[string]string{"local": "local", "raw": "Echo"}[method]
			benchCalls(b, m, 100, 1, OverrunReport)
		})
	}
}

// benchCalls runs the bench program against the echo service. With
// OverrunStop the service is compiled interruptible (wazero's
// close-on-context-done), which is what the comparison measures.
func benchCalls(b *testing.B, method string, size, callers int, policy OverrunPolicy) {
	dir, err := guestWasm()
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	guests := []*GuestSpec{
		{Name: "echo", Kind: Service, Wasm: dir + "/echo.wasm", Implements: []string{"test.Echo"}, MethodTimeout: time.Second, Overrun: policy},
		{Name: "bench", Kind: Program, Wasm: dir + "/bench.wasm", Requires: []string{"echo"},
			Env: []string{fmt.Sprintf("BENCH_N=%d", b.N), fmt.Sprintf("BENCH_SIZE=%d", size), fmt.Sprintf("BENCH_CONC=%d", callers), "BENCH_METHOD=" + method}},
	}
	b.ResetTimer()
	res, err := Run(context.Background(), Config{Guests: guests, Stdout: &out, Stderr: &out})
	b.StopTimer()
	if err != nil || res.ExitCode != 0 {
		b.Fatalf("run: %v, exit %d\n%s", err, res.ExitCode, out.String())
	}
	var calls, total, p50, p99 int64
	if _, err := fmt.Sscanf(afterPrefix(out.String()), "calls=%d total_ns=%d p50_ns=%d p99_ns=%d", &calls, &total, &p50, &p99); err != nil {
		b.Fatalf("reading the guest's figures: %v\n%s", err, out.String())
	}
	b.ReportMetric(float64(total)/float64(calls), "ns/call")
	b.ReportMetric(float64(p50)/1e3, "p50-us")
	b.ReportMetric(float64(p99)/1e3, "p99-us")
	b.ReportMetric(float64(calls)/(float64(total)/1e9), "calls/s")
}

// afterPrefix returns the bench program's line without its "bench | " prefix.
func afterPrefix(s string) string {
	i := bytes.Index([]byte(s), []byte("calls="))
	if i < 0 {
		return s
	}
	return s[i:]
}
