// Command statebench is a benchmark guest of stores and topics. As a
// program (BENCH_OP put, get or publish) it makes BENCH_N operations on the
// store "kv" or the topic "news", one after the other, with a
// BENCH_SIZE-byte value, and prints the wall time and latency percentiles
// measured inside the guest. For publish, the percentiles are of
// publish-to-delivery: each message carries the time it was published, and
// the same binary run as a service (BENCH_OP=subscriber, subscribed to
// "news" with method test.Sub/Take) measures when it arrives (the program
// publishes one message a millisecond, so that no backlog builds up), writing the
// figures to the store under "done" once it has BENCH_N of them; the
// program waits for that key.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

var (
	n, _    = strconv.Atoi(os.Getenv("BENCH_N"))
	size, _ = strconv.Atoi(os.Getenv("BENCH_SIZE"))
	lat     []time.Duration
)

func figures(total time.Duration) string {
	slices.Sort(lat)
	p := func(q float64) int64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(q*float64(len(lat))))].Nanoseconds()
	}
	return fmt.Sprintf("calls=%d total_ns=%d p50_ns=%d p99_ns=%d", len(lat), total.Nanoseconds(), p(0.50), p(0.99))
}

func fail(err error) {
	fmt.Println("failed:", err)
	guest.ExitSelf(1)
}

func main() {
	if os.Getenv("BENCH_OP") == "subscriber" {
		subscriber()
		return
	}
	guest.LaunchClient().Success(func(struct{}) {
		kv, err := guest.OpenStore("kv")
		if err != nil {
			fail(err)
		}
		value := bytes.Repeat([]byte{'v'}, max(size, 8))
		start := time.Now()
		var step func(i int)
		switch os.Getenv("BENCH_OP") {
		case "put":
			step = func(i int) {
				t := time.Now()
				kv.Put("k"+strconv.Itoa(i%100), value).Failure(fail).Success(func(uint64) {
					lat = append(lat, time.Since(t))
					next(step, i, start)
				})
			}
		case "get":
			step = func(i int) {
				t := time.Now()
				kv.Get("k").Failure(fail).Success(func(guest.Entry) {
					lat = append(lat, time.Since(t))
					next(step, i, start)
				})
			}
			kv.Put("k", value).Failure(fail).Success(func(uint64) { step(0) })
			return
		case "publish":
			news, err := guest.OpenTopic("news")
			if err != nil {
				fail(err)
			}
			step = func(i int) {
				if i == n {
					waitDone(kv)
					return
				}
				binary.LittleEndian.PutUint64(value, uint64(time.Now().UnixNano()))
				// One message a millisecond: the latency of a delivery,
				// not of a backlog.
				news.PublishMessage(wrapperspb.Bytes(value)).Failure(fail).Success(func(uint64) {
					guest.After(time.Millisecond, func() { step(i + 1) })
				})
			}
		}
		step(0)
	})
	guest.MustRunClient()
}

func next(step func(int), i int, start time.Time) {
	if i+1 == n {
		fmt.Println(figures(time.Since(start)))
		guest.ExitSelf(0)
	}
	step(i + 1)
}

// waitDone waits for the subscriber's figures.
func waitDone(kv *guest.Store) {
	kv.Get("done").Success(func(e guest.Entry) {
		fmt.Println(string(e.Value))
		guest.ExitSelf(0)
	}).Failure(func(err error) {
		if !errors.Is(err, guest.ErrNotFound) {
			fail(err)
		}
		guest.After(5*time.Millisecond, func() { waitDone(kv) })
	})
}

// subscriber serves test.Sub/Take, the method each message is delivered to.
func subscriber() {
	var kv *guest.Store
	var first time.Time
	take := func(ctx context.Context, m *wrapperspb.BytesValue) *guest.Future[*wrapperspb.BytesValue] {
		b := m.GetValue()
		if len(b) >= 8 {
			lat = append(lat, time.Since(time.Unix(0, int64(binary.LittleEndian.Uint64(b)))))
		}
		if first.IsZero() {
			first = time.Now()
		}
		if len(lat) == n {
			kv.Put("done", []byte(figures(time.Since(first))))
		}
		return guest.Resolved(&wrapperspb.BytesValue{})
	}
	guest.Export("test.Sub", nil, map[string]guest.Method{
		"Take": guest.UnaryMethod(func() *wrapperspb.BytesValue { return new(wrapperspb.BytesValue) }, take),
	})
	var err error
	if kv, err = guest.OpenStore("kv"); err != nil {
		fail(err)
	}
	guest.Run()
}
