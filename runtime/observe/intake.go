package observe

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"parigot.dev/parigot/internal/otlpwire"
)

// maxExport bounds the body of one OTLP export the dashboard takes: a
// batch of a child's spans is far smaller.
const maxExport = 8 << 20

// intake is the dashboard's OTLP/HTTP receiver at /v1/traces: split-mode
// children send their spans there (as they would to a collector), and the
// dashboard keeps them beside its own process's. It listens where the
// dashboard does: on the loopback address the user gave.
func (d *Dashboard) intake(w http.ResponseWriter, req *http.Request) {
	if d.tracing == nil || d.tracing.recent == nil {
		http.Error(w, "this dashboard keeps no spans", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxExport+1))
	if err == nil && len(body) > maxExport {
		err = fmt.Errorf("an export of more than %d bytes", maxExport)
	}
	var spans []*tracepb.ResourceSpans
	if err == nil {
		spans, err = otlpwire.DecodeTraces(body)
	}
	if err != nil {
		http.Error(w, "not an OTLP/HTTP protobuf trace export: "+err.Error(), http.StatusBadRequest)
		return
	}
	for _, rs := range spans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				d.tracing.recent.add(fromOTLP(s))
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf") // an empty ExportTraceServiceResponse
}

// fromOTLP is what the dashboard keeps of a received span.
func fromOTLP(s *tracepb.Span) kept {
	k := kept{
		traceID: hex.EncodeToString(s.TraceId),
		spanID:  hex.EncodeToString(s.SpanId),
		name:    s.Name,
		start:   time.Unix(0, int64(s.StartTimeUnixNano)),
		end:     time.Unix(0, int64(s.EndTimeUnixNano)),
		failed:  s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR,
	}
	if k.failed {
		k.message = ErrorText(s.GetStatus().GetMessage())
	}
	if len(s.ParentSpanId) > 0 {
		k.parentID = hex.EncodeToString(s.ParentSpanId)
	}
	for _, a := range s.Attributes {
		k.attribute(a.Key, a.GetValue().GetStringValue(), a.GetValue().GetIntValue())
	}
	return k
}
