package observe

import (
	"embed"
	"encoding/json"
	"math"
	"net/http"
	"sort"

	dto "github.com/prometheus/client_model/go"
)

// Node is one guest of the app, as the dashboard draws it.
type Node struct {
	Name       string   `json:"name"`
	Kind       string   `json:"kind"` // "service" or "program"
	Implements []string `json:"implements,omitempty"`
	Requires   []string `json:"requires,omitempty"`
}

// Dashboard serves the local dashboard of one app: the page, its JSON API
// and /metrics.
type Dashboard struct {
	app      string
	nodes    []Node
	metrics  *Metrics
	tracing  *Tracing  // nil: no traces to show
	logs     *Logs     // nil: no lines to show
	explorer *Explorer // serves /api/explorer/
}

//go:embed page
var page embed.FS

// NewDashboard makes the dashboard of app, whose guests are nodes, showing
// m, the spans t keeps and the lines l keeps (t and l may be nil), and
// calling the app's methods with e.
func NewDashboard(app string, nodes []Node, m *Metrics, t *Tracing, l *Logs, e *Explorer) *Dashboard {
	return &Dashboard{app: app, nodes: nodes, metrics: m, tracing: t, logs: l, explorer: e}
}

// Handler serves the page at /, /metrics, and the page's API:
// /api/topology (the guests and who requires whom), /api/stats (totals
// per edge and per method, which the page turns into rates) and
// /api/traces (the recent traces, which min, method and sort search for a
// slow call).
func (d *Dashboard) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", d.metrics.Handler())
	mux.HandleFunc("GET /api/topology", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"app": d.app, "nodes": d.nodes})
	})
	mux.HandleFunc("GET /api/stats", func(w http.ResponseWriter, _ *http.Request) {
		s, err := d.metrics.stats()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, s)
	})
	mux.HandleFunc("GET /api/traces", d.serveTraces)
	mux.HandleFunc("GET /api/logs", d.serveLogs)
	explore := http.StripPrefix("/api/explorer", d.explorer)
	mux.Handle("GET /api/explorer/", explore)
	mux.Handle("POST /api/explorer/", explore)
	mux.HandleFunc("POST /v1/traces", d.intake)
	mux.HandleFunc("POST /v1/metrics", d.takePush)
	mux.Handle("GET /", http.FileServerFS(sub(page, "page")))
	return mux
}

// serveTraces answers /api/traces: the recent traces, the latest first,
// or those its query asks for (see traceQuery).
func (d *Dashboard) serveTraces(w http.ResponseWriter, r *http.Request) {
	q, err := parseTraceQuery(r.URL.Query())
	if err != nil {
		http.Error(w, "/api/traces: "+err.Error(), http.StatusBadRequest)
		return
	}
	traces := []Trace{}
	if d.tracing != nil && d.tracing.recent != nil {
		traces = q.pick(groupTraces(d.tracing.recent.snapshot()), maxTraces)
	}
	writeJSON(w, traces)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// Stats are the totals the page shows, as of one scrape.
type Stats struct {
	Edges   []Edge   `json:"edges"`
	Methods []Method `json:"methods"`
	Guests  []Gauges `json:"guests"`
}

// Edge counts the calls caller made to guest.
type Edge struct {
	Caller string  `json:"caller"`
	Guest  string  `json:"guest"`
	Calls  float64 `json:"calls"`
}

// Method sums up one method of one guest: its calls and errors so far, and
// its latency quantiles in seconds (estimated from the histogram's buckets;
// NaN before its first call is written as null).
type Method struct {
	Guest  string   `json:"guest"`
	Method string   `json:"method"`
	Calls  float64  `json:"calls"`
	Errors float64  `json:"errors"`
	P50    *float64 `json:"p50"`
	P99    *float64 `json:"p99"`
}

// Gauges are a guest's inbox depth and memory, and its restarts.
type Gauges struct {
	Guest    string  `json:"guest"`
	Inbox    float64 `json:"inbox"`
	Memory   float64 `json:"memory"`
	Restarts float64 `json:"restarts"`
}

func (m *Metrics) stats() (Stats, error) {
	families, err := m.gatherer().Gather()
	if err != nil {
		return Stats{}, err
	}
	edges := map[[2]string]float64{}
	methods := map[[2]string]*Method{}
	guests := map[string]*Gauges{}
	method := func(guest, name string) *Method {
		k := [2]string{guest, name}
		if methods[k] == nil {
			methods[k] = &Method{Guest: guest, Method: name}
		}
		return methods[k]
	}
	gauges := func(guest string) *Gauges {
		if guests[guest] == nil {
			guests[guest] = &Gauges{Guest: guest}
		}
		return guests[guest]
	}
	for _, f := range families {
		for _, s := range f.Metric {
			l := labels(s)
			switch f.GetName() {
			case "parigot_calls_total":
				v := s.GetCounter().GetValue()
				edges[[2]string{l["caller"], l["guest"]}] += v
				me := method(l["guest"], l["method"])
				me.Calls += v
				if l["code"] != "ok" {
					me.Errors += v
				}
			case "parigot_call_duration_seconds":
				me := method(l["guest"], l["method"])
				me.P50 = quantile(0.5, s.GetHistogram())
				me.P99 = quantile(0.99, s.GetHistogram())
			case "parigot_inbox_calls":
				gauges(l["guest"]).Inbox = s.GetGauge().GetValue()
			case "parigot_guest_memory_bytes":
				gauges(l["guest"]).Memory = s.GetGauge().GetValue()
			case "parigot_restarts_total":
				gauges(l["guest"]).Restarts = s.GetCounter().GetValue()
			}
		}
	}
	st := Stats{Edges: []Edge{}, Methods: []Method{}, Guests: []Gauges{}}
	for k, v := range edges {
		st.Edges = append(st.Edges, Edge{Caller: k[0], Guest: k[1], Calls: v})
	}
	for _, me := range methods {
		st.Methods = append(st.Methods, *me)
	}
	for _, g := range guests {
		st.Guests = append(st.Guests, *g)
	}
	sort.Slice(st.Edges, func(i, j int) bool {
		return st.Edges[i].Caller+"\x00"+st.Edges[i].Guest < st.Edges[j].Caller+"\x00"+st.Edges[j].Guest
	})
	sort.Slice(st.Methods, func(i, j int) bool {
		return st.Methods[i].Guest+"\x00"+st.Methods[i].Method < st.Methods[j].Guest+"\x00"+st.Methods[j].Method
	})
	sort.Slice(st.Guests, func(i, j int) bool { return st.Guests[i].Guest < st.Guests[j].Guest })
	return st, nil
}

func labels(m *dto.Metric) map[string]string {
	l := make(map[string]string, len(m.Label))
	for _, p := range m.Label {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

// quantile estimates the q-quantile of h the way Prometheus's
// histogram_quantile does: linearly within the bucket that holds it. Nil
// when h has no observations.
func quantile(q float64, h *dto.Histogram) *float64 {
	n := float64(h.GetSampleCount())
	if n == 0 {
		return nil
	}
	rank := q * n
	lower, below := 0.0, 0.0
	for _, b := range h.Bucket {
		upper, count := b.GetUpperBound(), float64(b.GetCumulativeCount())
		if count >= rank {
			v := upper
			if count > below {
				v = lower + (upper-lower)*(rank-below)/(count-below)
			}
			return &v
		}
		lower, below = upper, count
	}
	v := lower // above the last bucket: its bound is the best estimate
	if math.IsInf(v, 0) {
		return nil
	}
	return &v
}
