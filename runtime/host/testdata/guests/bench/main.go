// Command bench is a benchmark program: it makes BENCH_N calls of
// test.Echo/Echo with a BENCH_SIZE-byte payload, one after the other, and
// prints the wall time and latency percentiles measured inside the guest.
package main

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	n, _ := strconv.Atoi(os.Getenv("BENCH_N"))
	size, _ := strconv.Atoi(os.Getenv("BENCH_SIZE"))
	payload := bytes.Repeat([]byte{'p'}, size)
	lat := make([]time.Duration, 0, n)
	guest.LaunchClient().Success(func(struct{}) {
		echo, err := guest.Locate("test.Echo")
		if err != nil {
			fmt.Println("locate:", err)
			guest.ExitSelf(1)
		}
		start := time.Now()
		var next func(i int)
		next = func(i int) {
			if i == n {
				total := time.Since(start)
				slices.Sort(lat)
				p := func(q float64) int64 {
					if len(lat) == 0 {
						return 0
					}
					return lat[min(len(lat)-1, int(q*float64(len(lat))))].Nanoseconds()
				}
				fmt.Printf("calls=%d total_ns=%d p50_ns=%d p99_ns=%d\n", n, total.Nanoseconds(), p(0.50), p(0.99))
				guest.ExitSelf(0)
				return
			}
			t := time.Now()
			guest.Invoke(echo, "Echo", wrapperspb.Bytes(payload), new(wrapperspb.BytesValue)).
				Success(func(r *wrapperspb.BytesValue) {
					lat = append(lat, time.Since(t))
					if len(r.GetValue()) != size {
						fmt.Println("wrong reply size", len(r.GetValue()))
						guest.ExitSelf(2)
					}
					next(i + 1)
				}).
				Failure(func(err error) {
					fmt.Println("call failed:", err)
					guest.ExitSelf(1)
				})
		}
		next(0)
	})
	guest.MustRunClient()
}
