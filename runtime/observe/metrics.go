package observe

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// Metrics counts what the guests of one process do. Its methods are safe
// from any goroutine. The zero value is not usable: call NewMetrics.
type Metrics struct {
	reg      *prometheus.Registry
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	wait     *prometheus.HistogramVec
	restarts *prometheus.CounterVec
	requests *prometheus.CounterVec   // to external APIs (http blocks)
	took     *prometheus.HistogramVec // of those requests

	mu     sync.Mutex
	probes map[string]Probe // by guest

	pushed *pushed // split mode: the children's
}

// Probe reads a guest's gauges and counters when /metrics is scraped.
type Probe func() Reading

// Reading is what a Probe reads of a guest.
type Reading struct {
	Inbox  float64 // calls waiting in its inbox now
	Memory float64 // bytes of its linear memory
	// Expired and GivenUp count the calls it dropped unrun, never
	// having taken them from its inbox: their caller's deadline had
	// passed, or their caller had given them up (a gateway's client
	// that hung up).
	Expired, GivenUp uint64
}

// Buckets of the latency histograms, in seconds: a call in one process takes
// microseconds, one across NATS a fraction of a millisecond, a slow method
// seconds.
var buckets = []float64{10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10}

// httpBuckets are those of the requests to external APIs, in seconds: an
// API on loopback answers in a fraction of a millisecond, one across the
// internet in tens to hundreds, and a request may wait up to its
// endpoint's timeout (30s by default).
var httpBuckets = []float64{500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10, 30, 60}

// NewMetrics makes the metrics of one process, with Go's runtime and
// process collectors beside parigot's own.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parigot_calls_total",
			Help: "Calls a service answered, by the guest that answered, its method, the code of the reply (code!=\"ok\" are the errors) and the guest that called.",
		}, []string{"guest", "method", "code", "caller"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parigot_call_duration_seconds",
			Help:    "Time a service took to answer a call, from taking it out of its inbox to its reply.",
			Buckets: buckets,
		}, []string{"guest", "method"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parigot_inbox_wait_seconds",
			Help:    "Time a call waited in its service's inbox before the service took it.",
			Buckets: buckets,
		}, []string{"guest", "method"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parigot_restarts_total",
			Help: "Times a guest was restarted after it failed.",
		}, []string{"guest"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parigot_http_requests_total",
			Help: "Requests a guest sent to an external API (an http block of parigot.hcl), by the guest, the endpoint's name, and how each ended: the response's status class (\"2xx\", \"4xx\"...), or, with no response, the code the guest got (\"unavailable\", \"deadline exceeded\", \"resource exhausted\", \"canceled\"...).",
		}, []string{"guest", "endpoint", "outcome"}),
		took: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parigot_http_request_duration_seconds",
			Help:    "Time a request to an external API took, from sending it to its response's end, or to its failure.",
			Buckets: httpBuckets,
		}, []string{"guest", "endpoint"}),
		probes: map[string]Probe{},
		pushed: &pushed{process: map[string][]*dto.MetricFamily{}},
	}
	m.reg.MustRegister(m.calls, m.duration, m.wait, m.restarts, m.requests, m.took, (*gauges)(m),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Call records a call guest answered for caller: its method, its code's
// name ("ok" for success), how long it waited in the inbox and how long the
// guest took.
func (m *Metrics) Call(guest, method, code, caller string, wait, took time.Duration) {
	m.calls.WithLabelValues(guest, method, code, caller).Inc()
	m.duration.WithLabelValues(guest, method).Observe(took.Seconds())
	m.wait.WithLabelValues(guest, method).Observe(wait.Seconds())
}

// HTTPRequest records a request guest sent to the external API endpoint
// (its http block's name): how it ended (HTTPOutcome) and how long it
// took.
func (m *Metrics) HTTPRequest(guest, endpoint, outcome string, took time.Duration) {
	m.requests.WithLabelValues(guest, endpoint, outcome).Inc()
	m.took.WithLabelValues(guest, endpoint).Observe(took.Seconds())
}

// HTTPOutcome is the outcome of a request to an external API in
// parigot_http_requests_total: the class of the response's status
// ("2xx", "4xx"...) when the guest got the response (status is 0 when it
// did not), else code, the name of the code the guest got instead
// ("unavailable", "deadline exceeded", "resource exhausted"...).
func HTTPOutcome(status int, code string) string {
	if status >= 100 && status <= 999 {
		return strconv.Itoa(status/100) + "xx"
	}
	return code
}

// Restart records that guest was restarted after a failure.
func (m *Metrics) Restart(guest string) {
	m.restarts.WithLabelValues(guest).Inc()
}

// Watch makes /metrics read guest's gauges through p.
func (m *Metrics) Watch(guest string, p Probe) {
	m.mu.Lock()
	m.probes[guest] = p
	m.mu.Unlock()
}

// Handler serves the metrics in Prometheus's exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.gatherer(), promhttp.HandlerOpts{Registry: m.reg})
}

// gauges collects the probes' readings at each scrape, so that the guests
// pay nothing for them between scrapes.
type gauges Metrics

var (
	inboxDesc   = prometheus.NewDesc("parigot_inbox_calls", "Calls waiting in a guest's inbox.", []string{"guest"}, nil)
	memoryDesc  = prometheus.NewDesc("parigot_guest_memory_bytes", "Size of a guest's linear memory.", []string{"guest"}, nil)
	droppedDesc = prometheus.NewDesc("parigot_calls_dropped_total", "Calls a service dropped unrun from its inbox, by why: \"deadline\" (their caller's deadline had passed) or \"given up\" (their caller gave them up: a gateway's client hung up).", []string{"guest", "reason"}, nil)
)

// The reasons of parigot_calls_dropped_total.
const (
	DroppedDeadline = "deadline"
	DroppedGivenUp  = "given up"
)

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- inboxDesc
	ch <- memoryDesc
	ch <- droppedDesc
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for guest, p := range g.probes {
		r := p()
		ch <- prometheus.MustNewConstMetric(inboxDesc, prometheus.GaugeValue, r.Inbox, guest)
		ch <- prometheus.MustNewConstMetric(memoryDesc, prometheus.GaugeValue, r.Memory, guest)
		ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(r.Expired), guest, DroppedDeadline)
		ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(r.GivenUp), guest, DroppedGivenUp)
	}
}
