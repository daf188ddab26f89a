package main

import (
	"encoding/json"
	"testing"

	"parigot.dev/parigot/internal/otlptest"
)

// TestATopicsDeliveryIsInTheTraceOfTheCallThatPublished runs the bank,
// whose teller makes two transfers: accounts publishes each on the topic
// while it serves Transfer, and audit's subscription makes each message a
// call of Record. In one process and in one process per guest, the OTLP
// receiver gets each Record span in the trace of the Transfer that
// published its message, as that Transfer's child, and so does the
// dashboard's trace view.
func TestATopicsDeliveryIsInTheTraceOfTheCallThatPublished(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	const transfer, record = "bank.v1.Accounts/Transfer", "bank.v1.Audit/Record"
	for _, mode := range []string{"single", "split"} {
		t.Run(mode, func(t *testing.T) {
			rcv := otlptest.Start(t)
			url := runWithDashboard(t, "../../examples/bank", "--mode="+mode, "--ephemeral", "--otlp", rcv.URL())
			byName := map[string][]otlptest.Span{}
			rcv.WaitFor(t, patienceForParigot, func(spans []otlptest.Span) bool {
				clear(byName)
				for _, s := range spans {
					byName[s.Name] = append(byName[s.Name], s)
				}
				return len(byName[transfer]) == 2 && len(byName[record]) == 2
			})
			parents := map[string]otlptest.Span{}
			for _, s := range byName[transfer] {
				parents[s.SpanID] = s
			}
			published := map[string]bool{}
			for _, r := range byName[record] {
				p, ok := parents[r.ParentID]
				if !ok || r.TraceID != p.TraceID {
					t.Errorf("Record's span is in trace %s with parent %q; want it in the trace of a Transfer, as its child (Transfers: %+v)", r.TraceID, r.ParentID, byName[transfer])
					continue
				}
				published[p.SpanID] = true
				if r.Kind != "SPAN_KIND_CONSUMER" || r.Attrs["messaging.destination.name"] != "transfers" || r.Attrs["messaging.operation.type"] != "process" || p.Kind != "SPAN_KIND_SERVER" {
					t.Errorf("Record's span is of kind %s with messaging attributes %v, its Transfer's %s; want a consumer's span of topic transfers, processing, under a server's", r.Kind, r.Attrs, p.Kind)
				}
				if mode == "split" && (r.Resource["service.instance.id"] != "audit" || p.Resource["service.instance.id"] != "accounts") {
					t.Errorf("Record's span came from %q, its Transfer's from %q; want audit's process and accounts'", r.Resource["service.instance.id"], p.Resource["service.instance.id"])
				}
			}
			if len(published) != 2 {
				t.Errorf("the Records are children of %d Transfers, want one each of the two", len(published))
			}
			if t.Failed() {
				return
			}
			// The dashboard's trace view: each Transfer's trace holds its
			// Record, under it.
			waitFor(t, "both Records in their Transfer's trace on the dashboard", func() (bool, string) {
				body := get(t, url+"api/traces")
				var traces []struct {
					Spans []struct {
						SpanID   string `json:"spanId"`
						ParentID string `json:"parentId"`
						Name     string `json:"name"`
					} `json:"spans"`
				}
				if err := json.Unmarshal([]byte(body), &traces); err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, tr := range traces {
					transfers := map[string]bool{}
					for _, s := range tr.Spans {
						if s.Name == transfer {
							transfers[s.SpanID] = true
						}
					}
					for _, s := range tr.Spans {
						if s.Name == record && transfers[s.ParentID] {
							n++
						}
					}
				}
				return n == 2, body
			})
		})
	}
}
