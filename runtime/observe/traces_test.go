package observe

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A slow call is found in /api/traces by its duration and its method,
// however many quick ones came after it.
func TestASlowCallIsFoundInTheTraces(t *testing.T) {
	tr := NewTracing(TracingOptions{App: "shop", Keep: 1000})
	start := time.Now().Add(-time.Minute).UnixNano()
	call := func(at int, method string, took time.Duration) {
		pushed := start + int64(at)*int64(time.Millisecond)
		tr.Record(CallSpan{Trace: NewTraceID(), Span: NewSpanID(), Sampled: true, Guest: "shop", Method: method,
			Code: "ok", Pushed: pushed, Drained: pushed, Replied: pushed + int64(took)})
	}
	call(0, "shop.v1.Shop/Greet", 300*time.Millisecond) // the slow one, the oldest
	call(1, "shop.v1.Shop/Stock", 150*time.Millisecond)
	call(2, "shop.v1.Shop/Greet", 120*time.Millisecond)
	for i := range maxTraces + 10 { // enough quick calls since to push it off the latest traces
		call(10+i, "shop.v1.Shop/Greet", time.Millisecond)
	}
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewDashboard("shop", nil, NewMetrics(), tr, nil, NewExplorer()).Handler())
	defer srv.Close()

	found := func(query string) []string {
		t.Helper()
		resp, err := http.Get(srv.URL + "/api/traces" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var traces []Trace
		if err := json.NewDecoder(resp.Body).Decode(&traces); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		var got []string
		for _, tc := range traces {
			got = append(got, tc.Slowest.Name+" "+tc.Slowest.Duration.String())
		}
		return got
	}
	for _, tc := range []struct {
		name, query string
		want        []string // the first traces, each by its slowest call
		n           int      // how many, when not len(want)
	}{
		{"the latest first, without a query: the slow call has scrolled away", "", []string{"shop.v1.Shop/Greet 1ms"}, maxTraces},
		{"those with a call of at least min, the latest first", "?min=100ms",
			[]string{"shop.v1.Shop/Greet 120ms", "shop.v1.Shop/Stock 150ms", "shop.v1.Shop/Greet 300ms"}, 0},
		{"the slowest first", "?sort=duration",
			[]string{"shop.v1.Shop/Greet 300ms", "shop.v1.Shop/Stock 150ms", "shop.v1.Shop/Greet 120ms", "shop.v1.Shop/Greet 1ms"}, maxTraces},
		{"the calls of one method, whatever its case, the slowest first", "?min=100ms&method=greet&sort=duration",
			[]string{"shop.v1.Shop/Greet 300ms", "shop.v1.Shop/Greet 120ms"}, 0},
		{"none slower than min", "?min=1s", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := found(tc.query)
			n := tc.n
			if n == 0 {
				n = len(tc.want)
			}
			if len(got) != n || (len(tc.want) > 0 && strings.Join(got[:len(tc.want)], ",") != strings.Join(tc.want, ",")) {
				t.Errorf("/api/traces%s: %d traces, first %q; want %d, first %q", tc.query, len(got), got[:min(len(got), 4)], n, tc.want)
			}
		})
	}

	for _, tc := range []struct{ query, want string }{
		{"?min=slow", "/api/traces: min=slow is not a duration: give one such as 100ms or 1.5s\n"},
		{"?sort=fast", "/api/traces: sort=fast: give sort=duration (the slowest call first) or sort=start (the latest trace first, the default)\n"},
	} {
		resp, err := http.Get(srv.URL + "/api/traces" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || string(body) != tc.want {
			t.Errorf("/api/traces%s: %d %q, want 400 %q", tc.query, resp.StatusCode, body, tc.want)
		}
	}
}
