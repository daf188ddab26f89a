package bench

import (
	"context"
	"fmt"
	"os"
	"testing"

	"parigot.dev/parigot/bench/measure"
)

// The test binary doubles as the split-mode child process.
func TestMain(m *testing.M) {
	measure.MaybeRunChild()
	os.Exit(m.Run())
}

var (
	sizes   = []int{100, 1 << 10, 64 << 10}
	callers = []int{1, 8}
)

// BenchmarkCall measures one request/reply with a wrapperspb.BytesValue
// payload, decoded and re-encoded by the service, in four ways:
//
//   - plain:  a Go function doing the same protobuf work (the floor);
//   - grpc:   a unary grpc-go call over loopback TCP;
//   - single: parigot in one process (program guest -> service guest);
//   - split:  parigot split into processes connected by NATS.
//
// The parigot cases start their guests in each run and time the calls from
// inside the program guest, so give them a fixed count:
//
//	cd bench && go test -run '^$' -bench Call -benchtime=20000x
func BenchmarkCall(b *testing.B) {
	ctx := context.Background()
	for _, way := range []string{"plain", "grpc", "single", "split"} {
		for _, c := range callers {
			for _, size := range sizes {
				b.Run(fmt.Sprintf("%s/callers=%d/payload=%d", way, c, size), func(b *testing.B) {
					var st measure.Stats
					var err error
					switch way {
					case "plain":
						st, err = measure.Plain(b.N, size, c)
					case "grpc":
						st, err = measure.GRPC(ctx, b.N, size, c)
					default:
						w, werr := measure.BuildWasm()
						if werr != nil {
							b.Fatal(werr)
						}
						b.ResetTimer()
						if way == "single" {
							st, err = measure.Single(ctx, w, b.N, size, c)
						} else {
							st, err = measure.Split(ctx, w, b.N, size, c)
						}
					}
					b.StopTimer()
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(st.P50.Nanoseconds())/1e3, "p50-us")
					b.ReportMetric(float64(st.P99.Nanoseconds())/1e3, "p99-us")
					b.ReportMetric(st.PerSec(), "calls/s")
				})
			}
		}
	}
}

// BenchmarkFirstCall measures helloworld's time to first call with a warm
// compilation cache (filled by a first run outside the timing) and a cold one
// (an empty directory each time).
//
//	cd bench && go test -run '^$' -bench FirstCall -benchtime=3x
func BenchmarkFirstCall(b *testing.B) {
	ctx := context.Background()
	w, err := measure.BuildWasm()
	if err != nil {
		b.Fatal(err)
	}
	for _, cache := range []string{"warm", "cold"} {
		b.Run("cache="+cache, func(b *testing.B) {
			warm := b.TempDir()
			if cache == "warm" {
				if _, err := measure.FirstCall(ctx, w, warm); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			var total float64
			for range b.N {
				dir := warm
				if cache == "cold" {
					dir = b.TempDir()
				}
				d, err := measure.FirstCall(ctx, w, dir)
				if err != nil {
					b.Fatal(err)
				}
				total += d.Seconds()
			}
			b.ReportMetric(total/float64(b.N), "s/first-call")
		})
	}
}
