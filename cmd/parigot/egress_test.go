package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRequestsToAnAPIAreInTheMetrics runs a program that calls an external
// API (a server of the test's, on loopback) with --dashboard, in each
// mode, and scrapes /metrics as Prometheus would: its requests are
// counted by outcome and timed, in split mode as its process pushed them.
func TestRequestsToAnAPIAreInTheMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/ok", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	srv := httptest.NewServer(mux) // anything else is 404
	t.Cleanup(srv.Close)
	t.Setenv("EGRESS_API_URL", srv.URL+"/v1")
	for _, mode := range []string{"single", "split"} {
		t.Run(mode, func(t *testing.T) {
			url := runWithDashboard(t, "testdata/apps/egress", "--mode="+mode)
			for _, want := range []string{
				`parigot_http_requests_total{endpoint="api",guest="caller",outcome="2xx"} 1`,
				`parigot_http_requests_total{endpoint="api",guest="caller",outcome="4xx"} 1`,
				`parigot_http_request_duration_seconds_count{endpoint="api",guest="caller"} 2`,
			} {
				waitFor(t, want+" in /metrics", func() (bool, string) {
					body := get(t, url+"metrics")
					return strings.Contains(body, want), body
				})
			}
		})
	}
}
