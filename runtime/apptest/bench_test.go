package apptest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	bookstorev1 "parigot.dev/parigot/examples/bookstore/gen/bookstore/v1"
	"parigot.dev/parigot/runtime/apptest"
)

// BenchmarkCallIntoWasm measures a call from native code into a wasm
// service in single mode, the path a gateway's request takes once its
// transport has decoded it: App.Call (the gateway's native caller, with
// protobuf-go on the native side) calling the bookstore's GetBook, one
// call at a time. BenchmarkGateway (bench/) adds the transports.
//
//	go test ./runtime/apptest -run '^$' -bench CallIntoWasm -benchtime=20000x
func BenchmarkCallIntoWasm(b *testing.B) {
	app := apptest.Start(b, "../../examples/bookstore", apptest.Single)
	ctx := context.Background()
	req := &bookstorev1.GetBookRequest{Id: "1"}
	for range 1000 { // warm up
		if err := app.Call(ctx, "bookstore.v1.Bookstore", "GetBook", req, new(bookstorev1.Book)); err != nil {
			b.Fatal(err)
		}
	}
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		var book bookstorev1.Book
		if err := app.Call(ctx, "bookstore.v1.Bookstore", "GetBook", req, &book); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Nanoseconds())/1e3, "p50-us")
	b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds())/1e3, "p99-us")
}
