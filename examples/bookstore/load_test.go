//go:build !wasip1

package bookstore_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	bookstorev1 "parigot.dev/parigot/examples/bookstore/gen/bookstore/v1"
	"parigot.dev/parigot/runtime/apptest"
)

// Load: 8 clients, 50,000 requests over HTTP in all, in each mode. Every
// request must come back, succeed and carry the book it asked for; how
// long that takes is not checked (the machine may be busy).
const (
	loadClients  = 8
	loadRequests = 50_000
)

func TestLoadOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("the load test makes 100,000 requests")
	}
	// What is checked is that nothing is lost under load, not that a
	// starved machine meets the books service's budget: give it room.
	t.Setenv("PARIGOT_TIMEOUT_SCALE", "100")
	for _, mode := range []apptest.Mode{apptest.Single, apptest.Split} {
		t.Run(string(mode)+" mode", func(t *testing.T) {
			app := apptest.Start(t, ".", mode)
			url := app.Gateway(t, "public") + "/bookstore.v1.Bookstore/GetBook"
			// Connect's unary protocol with protobuf's binary form, over
			// kept-alive HTTP/1.1 connections, one per client.
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loadClients}}
			defer client.CloseIdleConnections()
			want := map[string]string{"1": "The Go Programming Language", "2": "Structure and Interpretation of Computer Programs"}

			var next, ok, failed, mismatched atomic.Int64
			var mu sync.Mutex
			var firstErr error
			fail := func(counter *atomic.Int64, err error) {
				counter.Add(1)
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
			var wg sync.WaitGroup
			for range loadClients {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > loadRequests {
							return
						}
						id := fmt.Sprint(1 + i%2)
						body, _ := proto.Marshal(&bookstorev1.GetBookRequest{Id: id})
						req, _ := http.NewRequestWithContext(t.Context(), "POST", url, bytes.NewReader(body))
						req.Header.Set("Content-Type", "application/proto")
						resp, err := client.Do(req)
						if err != nil {
							fail(&failed, err)
							continue
						}
						b, err := io.ReadAll(resp.Body)
						resp.Body.Close()
						if err != nil || resp.StatusCode != 200 {
							fail(&failed, fmt.Errorf("request %d: HTTP %d %s (%v)", i, resp.StatusCode, b, err))
							continue
						}
						var got bookstorev1.Book
						if err := proto.Unmarshal(b, &got); err != nil || got.GetId() != id || got.GetTitle() != want[id] {
							fail(&mismatched, fmt.Errorf("request %d for book %s: got %v (%v)", i, id, &got, err))
							continue
						}
						ok.Add(1)
					}
				})
			}
			wg.Wait()
			if ok.Load() != loadRequests || failed.Load() != 0 || mismatched.Load() != 0 {
				t.Errorf("%d of %d requests succeeded, %d failed, %d mismatched, %d lost; the first problem: %v",
					ok.Load(), loadRequests, failed.Load(), mismatched.Load(), loadRequests-ok.Load()-failed.Load()-mismatched.Load(), firstErr)
			}
		})
	}
}
