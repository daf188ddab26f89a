package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/observe"
)

// dashboard is parigot run --dashboard: the page and /metrics of one run,
// served on the address the user gave from before the guests start until
// parigot ends.
type dashboard struct {
	metrics *observe.Metrics
	srv     *http.Server
	served  chan error // Serve's end
}

// startDashboard listens on addr and serves app's dashboard there; it
// prints the URL to stderr.
func startDashboard(addr string, app *manifest.App, stderr io.Writer) (*dashboard, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--dashboard %s: %w", addr, err)
	}
	var nodes []observe.Node
	for _, g := range app.StartOrder() {
		nodes = append(nodes, observe.Node{Name: g.Name, Kind: g.Kind.String(), Implements: g.Implements, Requires: g.Requires})
	}
	d := &dashboard{metrics: observe.NewMetrics(), served: make(chan error, 1)}
	d.srv = &http.Server{Handler: observe.NewDashboard(app.Name, nodes, d.metrics).Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { d.served <- d.srv.Serve(ln) }()
	fmt.Fprintf(stderr, "parigot: dashboard on http://%s/ (metrics: /metrics)\n", ln.Addr())
	return d, nil
}

// linger keeps serving once the run has ended, until ctx ends (Ctrl-C):
// the dashboard is there to look at what the run did.
func (d *dashboard) linger(ctx context.Context, stderr io.Writer) {
	fmt.Fprintf(stderr, "parigot: the app has ended; the dashboard serves until interrupted (Ctrl-C)\n")
	select {
	case <-ctx.Done():
	case err := <-d.served:
		if !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(stderr, "parigot: the dashboard stopped: %v\n", err)
		}
	}
}

// stop ends serving.
func (d *dashboard) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	d.srv.Shutdown(ctx)
}
