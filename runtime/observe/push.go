package observe

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protodelim"
)

// A split-mode child's metrics reach the dashboard in its supervisor as the
// child's spans do: pushed to the dashboard's address, here every second,
// as length-delimited protobuf MetricFamily messages (Prometheus's own
// protobuf exposition), at /v1/metrics?process=<guest>.

// pushEvery is how often a child pushes its metrics.
const pushEvery = time.Second

// Push sends m's parigot_* metrics to the dashboard at base (its URL) every
// second until ctx ends, and once more then, as process.
func (m *Metrics) Push(ctx context.Context, base, process string) {
	target := strings.TrimSuffix(base, "/") + "/v1/metrics?process=" + url.QueryEscape(process)
	client := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(pushEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			m.pushOnce(client, target)
		case <-ctx.Done():
			m.pushOnce(client, target)
			return
		}
	}
}

func (m *Metrics) pushOnce(client *http.Client, target string) {
	families, err := m.reg.Gather()
	if err != nil {
		return
	}
	var body bytes.Buffer
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "parigot_") {
			protodelim.MarshalTo(&body, f)
		}
	}
	resp, err := client.Post(target, "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited", &body)
	if err != nil {
		return // the dashboard has gone, or is busy: the next push says it all again
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// pushed holds the latest metrics each child pushed, by process, and
// gathers them beside the dashboard's own.
type pushed struct {
	mu      sync.Mutex
	process map[string][]*dto.MetricFamily
}

// Gather implements prometheus.Gatherer.
func (p *pushed) Gather() ([]*dto.MetricFamily, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	byName := map[string]*dto.MetricFamily{}
	var out []*dto.MetricFamily
	for _, families := range p.process {
		for _, f := range families {
			if len(f.Metric) == 0 {
				continue // every series superseded
			}
			if into := byName[f.GetName()]; into != nil {
				into.Metric = append(into.Metric, f.Metric...)
				continue
			}
			c := &dto.MetricFamily{Name: f.Name, Help: f.Help, Type: f.Type, Metric: append([]*dto.Metric(nil), f.Metric...)}
			byName[f.GetName()] = c
			out = append(out, c)
		}
	}
	return out, nil
}

// take reads a push (see Push) of process.
func (p *pushed) take(process string, body io.Reader) error {
	r := bufio.NewReader(io.LimitReader(body, maxExport))
	var families []*dto.MetricFamily
	for {
		f := new(dto.MetricFamily)
		err := protodelim.UnmarshalFrom(r, f)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if !strings.HasPrefix(f.GetName(), "parigot_") {
			return fmt.Errorf("metric %s is not parigot's", f.GetName())
		}
		families = append(families, f)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.process[process] = families
	p.supersede(process, guestsOf(families))
	return nil
}

// supersede drops, from the metrics of every process but process, those of
// guests: a guest's metrics come from the latest process that hosts it. A
// child killed from outside comes back as a new process (its counters start
// again, as a restarted Prometheus target's do), and two processes' series
// of one guest would otherwise clash, failing every scrape. Called with mu
// held.
func (p *pushed) supersede(process string, guests map[string]bool) {
	for other, families := range p.process {
		if other == process {
			continue
		}
		for _, f := range families {
			f.Metric = slices.DeleteFunc(f.Metric, func(m *dto.Metric) bool { return guests[labels(m)["guest"]] })
		}
	}
}

// guestsOf is the guests whose series families holds.
func guestsOf(families []*dto.MetricFamily) map[string]bool {
	guests := map[string]bool{}
	for _, f := range families {
		for _, m := range f.Metric {
			guests[labels(m)["guest"]] = true
		}
	}
	return guests
}

// gatherer is what /metrics and the page show: this process's metrics and
// those its children pushed.
func (m *Metrics) gatherer() prometheus.Gatherer {
	return prometheus.Gatherers{m.reg, m.pushed}
}

// takePush is the dashboard's /v1/metrics.
func (d *Dashboard) takePush(w http.ResponseWriter, req *http.Request) {
	process := req.URL.Query().Get("process")
	if process == "" {
		http.Error(w, "which process pushed: ?process= is missing", http.StatusBadRequest)
		return
	}
	if err := d.metrics.pushed.take(process, req.Body); err != nil {
		http.Error(w, "not Prometheus's delimited protobuf: "+err.Error(), http.StatusBadRequest)
	}
}
