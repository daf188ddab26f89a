package bench

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"parigot.dev/parigot/bench/measure"
	bookstorev1 "parigot.dev/parigot/examples/bookstore/gen/bookstore/v1"
	"parigot.dev/parigot/internal/rapidreset"
)

// BenchmarkGatewayRapidReset measures what an HTTP/2 rapid reset
// (CVE-2023-44487: streams opened and reset at once, over a few
// connections) costs examples/bookstore's gateway in single mode, in this
// process: for each protocol, 4 connections reset GetBook's streams for
// 5 s while a client beside them calls GetBook over HTTP/1.1 every 250 ms.
// It reports the resets a second, the calls beside that failed, the heap
// in use (collected) before, at its peak during the attack (not
// collected), and 3 s after the attackers left, the goroutines then, and
// the process's resident memory then (which keeps the pages the runtime
// has freed until its scavenger returns them).
//
//	cd bench && go test -run '^$' -bench GatewayRapidReset -benchtime=1x
func BenchmarkGatewayRapidReset(b *testing.B) {
	store, err := measure.StartBookstore(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Stop()
	req, _ := proto.Marshal(&bookstorev1.GetBookRequest{Id: "1"})
	attacks := []rapidreset.Request{
		rapidreset.GRPC("/bookstore.v1.Bookstore/GetBook", req),
		rapidreset.Connect("/bookstore.v1.Bookstore/GetBook", `{"id":"1"}`),
		rapidreset.Get("/v1/books/1"),
	}
	for _, a := range attacks {
		b.Run(a.Name, func(b *testing.B) {
			for range b.N {
				measureRapidReset(b, store.Addr, a)
			}
		})
	}
}

// held is what the process holds at one time.
type held struct {
	heapInuse, rss uint64
	goroutines     int
}

func holding(collect bool) held {
	if collect {
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return held{heapInuse: m.HeapInuse, rss: residentBytes(), goroutines: runtime.NumGoroutine()}
}

// residentBytes is the process's resident memory (VmRSS), 0 where
// /proc does not say.
func residentBytes() uint64 {
	status, _ := os.ReadFile("/proc/self/status")
	for line := range strings.Lines(string(status)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// measureRapidReset runs one attack of r against the gateway at addr and
// reports it.
func measureRapidReset(b *testing.B, addr string, r rapidreset.Request) {
	const conns, attack, settle = 4, 5 * time.Second, 3 * time.Second
	before := holding(true)
	stop := make(chan struct{})
	var resets atomic.Int64
	var attackers sync.WaitGroup
	for range conns {
		attackers.Go(func() { resetUntil(addr, r, stop, &resets) })
	}
	peak := before
	failed := 0
	for end := time.Now().Add(attack); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if err := getBook(addr); err != nil {
			failed++
			b.Logf("a call beside the attack: %v", err)
		}
		if h := holding(false); h.heapInuse > peak.heapInuse {
			peak = h
		}
	}
	close(stop)
	attackers.Wait()
	time.Sleep(settle)
	after := holding(true)
	mb := func(n uint64) float64 { return float64(n) / (1 << 20) }
	b.ReportMetric(float64(resets.Load())/attack.Seconds(), "resets/s")
	b.ReportMetric(float64(failed), "calls-beside-failed")
	b.ReportMetric(mb(before.heapInuse), "heap-before-MB")
	b.ReportMetric(mb(peak.heapInuse), "heap-peak-MB")
	b.ReportMetric(mb(after.heapInuse), "heap-after-MB")
	b.ReportMetric(float64(after.goroutines-before.goroutines), "goroutines-left")
	b.ReportMetric(mb(before.rss), "rss-before-MB")
	b.ReportMetric(mb(after.rss), "rss-after-MB")
}

// resetUntil resets streams of r at addr, counted in resets, until stop is
// closed, on a connection it opens again when the gateway closes it.
func resetUntil(addr string, r rapidreset.Request, stop <-chan struct{}, resets *atomic.Int64) {
	for {
		c, err := rapidreset.Dial(addr, r, time.Now().Add(time.Minute))
		if err != nil {
			return
		}
		for c.Reset() == nil {
			resets.Add(1)
			select {
			case <-stop:
				c.Close()
				return
			default:
			}
		}
		c.Close()
	}
}

// getBook calls GetBook over HTTP/1.1, Connect's protocol, on a
// connection of its own.
func getBook(addr string) error {
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Post("http://"+addr+"/bookstore.v1.Bookstore/GetBook", "application/json", strings.NewReader(`{"id":"1"}`))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d %s", resp.StatusCode, body)
	}
	return nil
}
