// Command bench is a benchmark program: it makes BENCH_N calls of
// test.Echo/EchoProto (BENCH_METHOD, when set, names another method) with a
// BENCH_SIZE-byte payload, keeping BENCH_CONC of them in flight (1 when
// unset: one call after the other), and prints the wall time and latency
// percentiles measured inside the guest. BENCH_METHOD=local makes no call
// and times the same protobuf work done inside the guest.
//
// Each call marshals a wrapperspb.BytesValue request and unmarshals the
// reply; EchoProto unmarshals the request and marshals a new reply on the
// service's side, so the figures include all the protobuf work a
// generated client and service do.
package main

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	n, _ := strconv.Atoi(os.Getenv("BENCH_N"))
	size, _ := strconv.Atoi(os.Getenv("BENCH_SIZE"))
	conc, _ := strconv.Atoi(os.Getenv("BENCH_CONC"))
	method := os.Getenv("BENCH_METHOD")
	if method == "" {
		method = "EchoProto"
	}
	conc = max(1, min(conc, n))
	payload := bytes.Repeat([]byte{'p'}, size)
	lat := make([]time.Duration, 0, n)
	report := func(total time.Duration) {
		slices.Sort(lat)
		p := func(q float64) int64 {
			if len(lat) == 0 {
				return 0
			}
			return lat[min(len(lat)-1, int(q*float64(len(lat))))].Nanoseconds()
		}
		fmt.Printf("calls=%d total_ns=%d p50_ns=%d p99_ns=%d\n", n, total.Nanoseconds(), p(0.50), p(0.99))
		guest.ExitSelf(0)
	}
	if method == "local" {
		// No call at all: the protobuf work of one call (encode the request,
		// decode it, encode a reply, decode it) inside this guest, to show
		// what wasm costs apart from the host.
		start := time.Now()
		for range n {
			t := time.Now()
			in, _ := proto.Marshal(wrapperspb.Bytes(payload))
			req := new(wrapperspb.BytesValue)
			proto.Unmarshal(in, req)
			out, _ := proto.Marshal(wrapperspb.Bytes(req.GetValue()))
			resp := new(wrapperspb.BytesValue)
			proto.Unmarshal(out, resp)
			lat = append(lat, time.Since(t))
		}
		report(time.Since(start))
	}
	guest.LaunchClient().Success(func(struct{}) {
		echo, err := guest.Locate("test.Echo")
		if err != nil {
			fmt.Println("locate:", err)
			guest.ExitSelf(1)
		}
		start := time.Now()
		started := 0
		var next func()
		next = func() {
			if started == n {
				if len(lat) < n {
					return // the other calls in flight finish the run
				}
				report(time.Since(start))
				return
			}
			started++
			t := time.Now()
			guest.Invoke(echo, method, wrapperspb.Bytes(payload), new(wrapperspb.BytesValue)).
				Success(func(r *wrapperspb.BytesValue) {
					lat = append(lat, time.Since(t))
					if len(r.GetValue()) != size {
						fmt.Println("wrong reply size", len(r.GetValue()))
						guest.ExitSelf(2)
					}
					next()
				}).
				Failure(func(err error) {
					fmt.Println("call failed:", err)
					guest.ExitSelf(1)
				})
		}
		for range conc {
			next()
		}
	})
	guest.MustRunClient()
}
