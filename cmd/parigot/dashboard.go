package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/gateway"
	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/observe"
)

// dashboard is parigot run --dashboard: the page and /metrics of one run,
// served on the address the user gave from before the guests start until
// parigot ends. Under parigot dev it serves the page of each run of the
// app in turn (show), on the one address.
type dashboard struct {
	url     string // http://host:port/
	logs    *observe.Logs
	metrics *observe.Metrics  // the current page's (see show)
	calls   *observe.Explorer // the API explorer of every page
	current atomic.Pointer[http.Handler]
	srv     *http.Server
	served  chan error // Serve's end
	stderr  io.Writer
	ended   atomic.Bool // the programs have ended
	// noPrograms says why no program runs here ("the app has no
	// programs"); empty when one does.
	noPrograms string
}

// keptLines is how many of the latest lines of output the dashboard keeps
// to show those of a trace.
const keptLines = 2000

// keptSpans is how many of the latest spans the dashboard keeps for its
// waterfalls.
const keptSpans = 2000

// startTracing starts tracing for --otlp (spans to those OTLP/HTTP
// receivers) and --dashboard (the latest spans kept for it); nil when the
// run asks for neither. process names a split-mode child's guest. A
// receiver that cannot be reached is said on stderr, once a run of
// failures.
func startTracing(otlp []string, dashboard bool, app, process string, stderr io.Writer) *observe.Tracing {
	if len(otlp) == 0 && !dashboard {
		return nil
	}
	o := observe.TracingOptions{App: app, Process: process, OTLP: otlp, Warn: sayTo(stderr)}
	if dashboard {
		o.Keep = keptSpans
	}
	return observe.NewTracing(o)
}

// stopTracing sends the spans still buffered, for a few seconds at most.
func stopTracing(t *observe.Tracing, stderr io.Writer) {
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.Shutdown(ctx); err != nil {
		fmt.Fprintf(stderr, "parigot: sending the last spans: %v\n", err)
	}
}

// startDashboard listens on addr and serves app's dashboard there, with
// the spans tracing keeps; it prints the URL to stderr.
func startDashboard(addr string, app *manifest.App, tracing *observe.Tracing, stderr io.Writer) (*dashboard, error) {
	d, err := listenDashboard(addr, stderr)
	if err != nil {
		return nil, err
	}
	if len(app.Programs) == 0 {
		d.noPrograms = "the app has no programs"
	}
	d.show(app, tracing)
	return d, nil
}

// listenDashboard listens on addr and serves there the page show makes,
// once it has made one (until then, an answer that the app is not
// running); it prints the URL to stderr.
func listenDashboard(addr string, stderr io.Writer) (*dashboard, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--dashboard %s: %w", addr, err)
	}
	d := &dashboard{logs: observe.NewLogs(keptLines), calls: observe.NewExplorer(), served: make(chan error, 1), stderr: stderr}
	d.srv = &http.Server{Handler: http.HandlerFunc(d.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { d.served <- d.srv.Serve(ln) }()
	d.url = gateway.URLOf(ln.Addr()) + "/"
	fmt.Fprintf(stderr, "parigot: dashboard on %s (metrics: /metrics)\n", d.url)
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		fmt.Fprintf(stderr, "parigot: warning: the dashboard listens beyond this machine (%s): whoever reaches it can read the app's output and traces and call its methods from the API explorer; give --dashboard a loopback address, such as 127.0.0.1:7070, unless that is what you want\n", ln.Addr())
	}
	return d, nil
}

// show makes the page of app, whose calls it counts in metrics of its
// own, with the spans tracing keeps and the lines the dashboard keeps, and
// serves it from now on in place of the one before. parigot dev shows each
// run of the app (a restart may change its guests): the counters of a run
// start from zero, as a restarted Prometheus target's do, and the traces
// and lines go on, as does the API explorer, which serves the calls of
// whichever run serves. It returns the page's metrics, for the run's
// hosts.
func (d *dashboard) show(app *manifest.App, tracing *observe.Tracing) *observe.Metrics {
	var nodes []observe.Node
	for _, g := range app.StartOrder() {
		nodes = append(nodes, observe.Node{Name: g.Name, Kind: g.Kind.String(), Implements: g.Implements, Requires: g.Requires})
	}
	d.metrics = observe.NewMetrics()
	h := observe.NewDashboard(app.Name, nodes, d.metrics, tracing, d.logs, d.calls).Handler()
	d.current.Store(&h)
	return d.metrics
}

// serve serves the page show made last.
func (d *dashboard) serve(w http.ResponseWriter, req *http.Request) {
	if h := d.current.Load(); h != nil {
		(*h).ServeHTTP(w, req)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "the app is not running yet: parigot dev starts it, and its dashboard, at the first build that succeeds", http.StatusServiceUnavailable)
}

// explore serves the explorer's calls with h (nil: the services have
// stopped).
func (d *dashboard) explore(h http.Handler) { d.calls.Set(h) }

// restarting says that parigot dev restarts the app: the explorer's calls
// wait for the next run, as a gateway's requests do, rather than fail.
func (d *dashboard) restarting() { d.calls.Restarting(gateway.RestartWait) }

// down says that no run of the app is coming: the explorer's calls are
// refused.
func (d *dashboard) down() { d.calls.Down() }

// programsEnded says that the programs have ended and the run serves on,
// with the services, for the dashboard and its explorer, until Ctrl-C.
func (d *dashboard) programsEnded() {
	d.ended.Store(true)
	what := "the app's programs have ended"
	if d.noPrograms != "" {
		what = d.noPrograms
	}
	fmt.Fprintf(d.stderr, "parigot: %s; its services and the dashboard serve until interrupted (Ctrl-C)\n", what)
}

// interrupted says, on w, how a run ends that Ctrl-C ended once its
// programs had: with their exit code; or, with no program (here), with 0
// unless a guest failed.
func (d *dashboard) interrupted(w io.Writer) {
	if d.noPrograms != "" {
		fmt.Fprintf(w, "parigot: interrupted; %s, so the run ends with 0 unless a guest failed\n", d.noPrograms)
		return
	}
	fmt.Fprintf(w, "parigot: interrupted; the app's programs had ended, and give the run its exit code\n")
}

// only is split mode's --only: the guests this process runs. When none
// of them is a program, no program's end is waited for here.
func (d *dashboard) only(app *manifest.App, names []string) {
	if len(names) == 0 || d.noPrograms != "" {
		return
	}
	for _, name := range names {
		if g := app.Guest(name); g != nil && g.Kind == manifest.KindProgram {
			return
		}
	}
	d.noPrograms = "no program of the app runs here (--only)"
}

// linger keeps serving once the run has ended by itself, until ctx ends
// (Ctrl-C): the dashboard is there to look at what the run did.
func (d *dashboard) linger(ctx context.Context) {
	if ctx.Err() != nil {
		return // the run ended by Ctrl-C
	}
	fmt.Fprintf(d.stderr, "parigot: the app has ended; the dashboard serves until interrupted (Ctrl-C)\n")
	select {
	case <-ctx.Done():
	case err := <-d.served:
		if !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(d.stderr, "parigot: the dashboard stopped: %v\n", err)
		}
	}
}

// stop ends serving.
func (d *dashboard) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	d.srv.Shutdown(ctx)
}

// observing is what a run shows of itself, for each host.Config it makes:
// nil parts are off.
type observing struct {
	metrics *observe.Metrics
	tracing *observe.Tracing
	logs    *observe.Logs
	logJSON bool
}

// config sets cfg's metrics, tracing, log format and the dashboard's lines.
func (o observing) config(cfg *host.Config) {
	cfg.Metrics, cfg.Tracing, cfg.LogJSON = o.metrics, o.tracing, o.logJSON
	if o.logs != nil {
		cfg.Lines = o.logs.Add
	}
}

// nonEmpty is s as a list: none when s is empty.
func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// pushMetrics counts a split-mode child's calls and pushes them to the
// dashboard at url until stop, which pushes them a last time; nil metrics
// when there is no dashboard.
func pushMetrics(url, guest string) (m *observe.Metrics, stop func()) {
	if url == "" {
		return nil, func() {}
	}
	m = observe.NewMetrics()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Push(ctx, url, fmt.Sprintf("%s-%d", guest, os.Getpid()))
	}()
	return m, func() { cancel(); <-done }
}
