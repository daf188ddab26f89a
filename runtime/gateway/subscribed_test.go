package gateway

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	neturl "net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/native"
	"parigot.dev/parigot/runtime/internal/route"
)

// eventsProto is an app's service whose method RecordCreated a
// subscription delivers the topic "created" to. Its REST routes overlap
// Note's both ways: POST /v1/events/special is a route of each, and the
// literal one is RecordCreated's.
const eventsProto = `syntax = "proto3";
package events.v1;
import "google/api/annotations.proto";
message Created { string id = 1; }
service Stats {
  rpc RecordCreated(Created) returns (Created) {
    option (google.api.http) = {
      post: "/v1/created" body: "*"
      additional_bindings { post: "/v1/events/special" body: "*" }
    };
  }
  rpc Note(Created) returns (Created) {
    option (google.api.http) = {post: "/v1/events/{id}" body: "*"};
  }
}
`

// methodLog answers every call with its request, and keeps the methods
// called.
type methodLog struct {
	mu     sync.Mutex
	called []string
}

func (m *methodLog) GuestName() string            { return "stats" }
func (m *methodLog) MethodTimeout() time.Duration { return 2 * time.Second }
func (m *methodLog) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	m.mu.Lock()
	m.called = append(m.called, ev.Method)
	m.mu.Unlock()
	go from.Deliver(abi.Event{Kind: abi.KindReply, CallID: ev.CallID, Payload: ev.Payload}, nil)
	return route.Accepted
}

func (m *methodLog) calls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.called)
}

// startEvents serves eventsProto's Stats, as FromManifest makes its gateway
// when service stats subscribes RecordCreated to topic "created".
func startEvents(t *testing.T) (*Server, *methodLog) {
	t.Helper()
	return startLogged(t, "events/v1/events.proto", eventsProto, Spec{Services: []string{"events.v1.Stats"},
		Subscribed: map[string][]Subscriber{"events.v1.Stats/RecordCreated": {{Topic: "created", Service: "stats"}}}})
}

// startLogged serves spec, from the proto file src at path, on a free
// port, every call answered by a methodLog.
func startLogged(t *testing.T, path, src string, spec Spec) (*Server, *methodLog) {
	t.Helper()
	schema, err := ParseSchema(compileSchema(t, map[string]string{path: src}, path))
	if err != nil {
		t.Fatal(err)
	}
	fake := &methodLog{}
	spec.Name, spec.Listen = "public", "127.0.0.1:0"
	srv, err := Start(spec, schema, services{fake}, native.NewCaller(NativeIdentity), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv, fake
}

// refusedSubscription is what a client calling RecordCreated is told.
const refusedSubscription = `events.v1.Stats/RecordCreated receives the messages of topic "created" (a subscribe block of service stats in parigot.hcl), so the gateway does not serve it to callers from outside the app; for outside callers, declare a separate rpc in the proto`

// TestASubscriptionTargetIsNotServedToClients: anyone could otherwise
// forge the topic's events. Every protocol is refused with permission
// denied (HTTP 403) and why, the service is never called, and the
// service's other methods are served.
func TestASubscriptionTargetIsNotServedToClients(t *testing.T) {
	srv, fake := startEvents(t)
	url := srv.URL()
	created, _ := proto.Marshal(wrapperspb.String("forged"))

	t.Run("Connect and REST get 403 and permission denied, saying why", func(t *testing.T) {
		for _, c := range []struct {
			name, method, path, contentType, body string
			code                                  string // Connect's code, or REST's number
		}{
			{"Connect in JSON, as curl sends it", http.MethodPost, "/events.v1.Stats/RecordCreated", "application/json", `{"id":"forged"}`, `"permission_denied"`},
			{"Connect in JSON, with a body that is no JSON", http.MethodPost, "/events.v1.Stats/RecordCreated", "application/json", `{"id":`, `"permission_denied"`},
			{"Connect in protobuf", http.MethodPost, "/events.v1.Stats/RecordCreated", "application/proto", string(created), `"permission_denied"`},
			{"Connect's GET", http.MethodGet, "/events.v1.Stats/RecordCreated?encoding=json&connect=v1&message=" + neturl.QueryEscape(`{"id":"forged"}`), "", "", `"permission_denied"`},
			{"its REST route", http.MethodPost, "/v1/created", "application/json", `{"id":"forged"}`, "7"},
			{"its REST route, with a query vanguard would refuse", http.MethodPost, "/v1/created?nofield=1", "application/json", `{"id":"forged"}`, "7"},
			{"its REST route that another method's also matches", http.MethodPost, "/v1/events/special", "application/json", `{"id":"forged"}`, "7"},
		} {
			resp, body := send(t, c.method, url+c.path, c.contentType, c.body)
			var got struct {
				Code    json.RawMessage `json:"code"`
				Message string          `json:"message"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != http.StatusForbidden ||
				string(got.Code) != c.code || got.Message != refusedSubscription {
				t.Errorf("%s: %d %s\nwant 403, code %s, saying %s", c.name, resp.StatusCode, body, c.code, refusedSubscription)
			}
		}
	})
	t.Run("gRPC-Web and gRPC in JSON get permission denied in their trailers", func(t *testing.T) {
		frame := func(msg []byte) string { return string(append([]byte{0, 0, 0, 0, byte(len(msg))}, msg...)) }
		for _, c := range []struct{ contentType, body string }{
			{"application/grpc-web+proto", frame(created)},
			{"application/grpc-web+json", frame([]byte(`{"id":"forged"}`))},
			{"application/grpc+json", frame([]byte(`{"id":"forged"}`))}, // over HTTP/2, as gRPC is
		} {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/events.v1.Stats/RecordCreated", strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.contentType)
			req.Header.Set("Te", "trailers")
			resp, err := h2cClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			msg, _ := neturl.PathUnescape(resp.Header.Get("Grpc-Message"))
			if resp.StatusCode != 200 || resp.Header.Get("Grpc-Status") != "7" || msg != refusedSubscription {
				t.Errorf("%s: HTTP %d, grpc-status %q, %q\nwant 7 (permission denied), saying %s", c.contentType, resp.StatusCode, resp.Header.Get("Grpc-Status"), msg, refusedSubscription)
			}
		}
	})
	t.Run("grpc-go's client gets permission denied", func(t *testing.T) {
		out := new(wrapperspb.StringValue)
		err := grpcClient(t, srv).Invoke(t.Context(), "/events.v1.Stats/RecordCreated", wrapperspb.String("forged"), out)
		if s := status.Convert(err); s.Code() != codes.PermissionDenied || s.Message() != refusedSubscription {
			t.Errorf("%v\nwant PermissionDenied, saying %s", err, refusedSubscription)
		}
	})
	t.Run("connect-go's client, in each protocol, gets permission denied", func(t *testing.T) {
		for name, opts := range map[string][]connect.ClientOption{"connect": nil, "grpc": {connect.WithGRPC()}, "grpc-web": {connect.WithGRPCWeb()}} {
			client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](h2cClient(), url+"/events.v1.Stats/RecordCreated", opts...)
			_, err := client.CallUnary(t.Context(), connect.NewRequest(wrapperspb.String("forged")))
			if ce := asConnect(err); ce == nil || ce.Code() != connect.CodePermissionDenied || ce.Message() != refusedSubscription {
				t.Errorf("%s: %v\nwant permission denied, saying %s", name, err, refusedSubscription)
			}
		}
	})
	if got := fake.calls(); len(got) != 0 {
		t.Fatalf("the service was called: %v", got)
	}
	t.Run("the service's other methods are served", func(t *testing.T) {
		if resp, body := post(t, url+"/events.v1.Stats/Note", "application/json", `{"id":"a"}`); resp.StatusCode != 200 || !strings.Contains(body, `"id":"a"`) {
			t.Errorf("Connect: %d %s", resp.StatusCode, body)
		}
		if resp, body := post(t, url+"/v1/events/b", "application/json", `{}`); resp.StatusCode != 200 || !strings.Contains(body, `"id":"b"`) {
			t.Errorf("REST: %d %s", resp.StatusCode, body)
		}
		out := new(wrapperspb.StringValue)
		if err := grpcClient(t, srv).Invoke(t.Context(), "/events.v1.Stats/Note", wrapperspb.String("c"), out); err != nil || out.GetValue() != "c" {
			t.Errorf("gRPC: %v, %v", out, err)
		}
		if got, want := fake.calls(), []string{"events.v1.Stats/Note", "events.v1.Stats/Note", "events.v1.Stats/Note"}; !slices.Equal(got, want) {
			t.Errorf("the service got %v, want %v", got, want)
		}
	})
}
