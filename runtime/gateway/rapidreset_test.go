package gateway

import (
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/internal/rapidreset"
)

// A client that opens HTTP/2 streams and resets them at once, over a few
// connections (CVE-2023-44487's rapid reset), in any protocol, leaves
// nothing of the gateway's behind once it has gone: no goroutine, and no
// stream's state. A reset stream's reply was given its write deadline
// after net/http's server had closed the stream, and that deadline's
// timer, which nothing stopped, held the stream, its request and its
// connection until it fired, the gateway's write limit later (30 s; here
// an hour): tens of thousands of resets a second held hundreds of
// megabytes. Clients beside the attack are served throughout.
func TestStreamsResetAtOnceLeaveNothingBehind(t *testing.T) {
	if raceEnabled {
		t.Skip("measures memory, not races, and the detector slows the attack several times over")
	}
	// The service answers no Slow call, so every reply is written after
	// its stream was reset; the write limit an hour: what a reset stream
	// kept, it kept as long.
	srv := startServing(t, &fakeService{}, clientLimits{readHeader: ReadHeaderTimeout, read: ReadTimeout, write: time.Hour})
	host := strings.TrimPrefix(srv.URL(), "http://")
	before := settled()

	req, _ := proto.Marshal(wrapperspb.String("reset"))
	attacks := []rapidreset.Request{
		rapidreset.GRPC("/test.v1.Echo/Slow", req),
		rapidreset.Connect("/test.v1.Echo/Slow", `{"name":"reset"}`),
		rapidreset.Get("/v1/greet/reset"),
	}
	const streams = 20000 // of each request
	var sent atomic.Int64
	var attackers sync.WaitGroup
	for _, a := range attacks {
		attackers.Go(func() { resetStreams(t, host, a, streams, &sent) })
	}
	// Once the attack is under way, other clients are answered.
	waitFor(t, "the attack to begin", func() bool { return sent.Load() > 3000 })
	besideAttack(t, srv)
	attackers.Wait()
	t.Logf("%d streams opened and reset", sent.Load())

	// Margins wide enough for a busy machine's stray goroutines and the
	// heap the runtime has not yet swept; what the reset streams kept came
	// to over 20 MB.
	const extraGoroutines, extraHeap = 10, 12 << 20
	var now usage
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		now = settled()
		if now.goroutines <= before.goroutines+extraGoroutines && now.heapInuse <= before.heapInuse+extraHeap {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute after the attack, the gateway still holds %d goroutines and %.1f MB of heap in use, from %d and %.1f MB before it",
				now.goroutines, megabytes(now.heapInuse), before.goroutines, megabytes(before.heapInuse))
		}
	}
	t.Logf("heap in use %.1f MB before, %.1f MB after; goroutines %d before, %d after",
		megabytes(before.heapInuse), megabytes(now.heapInuse), before.goroutines, now.goroutines)
}

// besideAttack makes a gRPC call and a Connect call of srv, each on a
// connection of its own, which it closes.
func besideAttack(t *testing.T, srv *Server) {
	conn := grpcClient(t, srv)
	defer conn.Close()
	if got, err := say(t.Context(), conn, "Say", "beside"); err != nil || got != "Hello, beside!" {
		t.Errorf("a gRPC call during the attack: %q, %v", got, err)
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Post(srv.URL()+"/test.v1.Echo/Say", "application/json", strings.NewReader(`{"name":"beside"}`))
	if err != nil {
		t.Errorf("a Connect call during the attack: %v", err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Hello, beside!") {
		t.Errorf("a Connect call during the attack: %d %s", resp.StatusCode, body)
	}
}

// resetStreams sends n streams of r to host, each reset at once,
// counting them in sent, on as many connections as it takes: net/http's
// server closes a connection whose reset streams' handlers pile up
// (ENHANCE_YOUR_CALM), and the client carries on. It keeps each
// connection until the gateway has read what was sent on it.
func resetStreams(t *testing.T, host string, r rapidreset.Request, n int, sent *atomic.Int64) {
	deadline := time.Now().Add(time.Minute) // a hang fails, not a bound on the test's time
	for done := 0; done < n; {
		if time.Now().After(deadline) {
			t.Errorf("%s: %d streams of %d sent in a minute", r.Name, done, n)
			return
		}
		c, err := rapidreset.Dial(host, r, deadline)
		if err != nil {
			t.Error(err)
			return
		}
		for ; done < n && c.Reset() == nil; done++ {
			sent.Add(1)
		}
		c.Drain()
		c.Close()
	}
}

// usage is what the process holds: goroutines, and the heap in use once
// collected.
type usage struct {
	goroutines int
	heapInuse  uint64
}

func settled() usage {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return usage{runtime.NumGoroutine(), m.HeapInuse}
}

func megabytes(b uint64) float64 { return float64(b) / (1 << 20) }
