package gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"parigot.dev/parigot/runtime/internal/native"
)

// probedServices is a backend whose service is up or down as the test says.
type probedServices struct {
	services
	up atomic.Bool
}

func (p *probedServices) Serving(context.Context, string) bool { return p.up.Load() }

// startProbed serves testProto's Echo over a backend the test turns up and
// down, with cors_origins as given.
func startProbed(t *testing.T, origins ...string) (*Server, *probedServices) {
	t.Helper()
	schema, err := ParseSchema(testSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	be := &probedServices{services: services{&fakeService{tame: true}}}
	be.up.Store(true)
	srv, err := Start(Spec{Name: "test", Listen: "127.0.0.1:0", Services: []string{"test.v1.Echo"}, CORSOrigins: origins}, schema,
		be, native.NewCaller(NativeIdentity), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv, be
}

// healthCheck asks the gateway's standard health service about service, in
// gRPC's binary protobuf over Connect, as a health-checking client would,
// and returns the status's standard name, or the HTTP status and body of a
// failure.
func healthCheck(t *testing.T, url, service string) string {
	t.Helper()
	f := healthFile()
	req := dynamicpb.NewMessage(f.Messages().ByName("HealthCheckRequest"))
	req.Set(req.Descriptor().Fields().ByName("service"), protoreflect.ValueOfString(service))
	body, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url+"/grpc.health.v1.Health/Check", "application/proto", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.Status + " " + string(got)
	}
	reply := dynamicpb.NewMessage(f.Messages().ByName("HealthCheckResponse"))
	if err := proto.Unmarshal(got, reply); err != nil {
		t.Fatalf("a health reply that is not a HealthCheckResponse: %v", err)
	}
	status := reply.Descriptor().Fields().ByName("status")
	return string(status.Enum().Values().ByNumber(reply.Get(status).Enum()).Name())
}

func TestHealthFollowsWhetherTheServiceServes(t *testing.T) {
	srv, be := startProbed(t)
	for _, c := range []struct {
		up               bool
		service, overall string
	}{
		{true, "SERVING", "SERVING"},
		{false, "NOT_SERVING", "NOT_SERVING"},
		{true, "SERVING", "SERVING"}, // back, after a restart
	} {
		be.up.Store(c.up)
		if got := healthCheck(t, srv.URL(), "test.v1.Echo"); got != c.service {
			t.Errorf("service up=%v: test.v1.Echo is %s, want %s", c.up, got, c.service)
		}
		if got := healthCheck(t, srv.URL(), ""); got != c.overall {
			t.Errorf("service up=%v: the gateway as a whole is %s, want %s", c.up, got, c.overall)
		}
	}
	if got := healthCheck(t, srv.URL(), "test.v1.Hidden"); !strings.HasPrefix(got, "404 ") || !strings.Contains(got, "serves no service test.v1.Hidden") {
		t.Errorf("a service the gateway does not serve: %s, want 404 and not found", got)
	}
}

func TestCORS(t *testing.T) {
	preflight := func(t *testing.T, url, origin, method, headers string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodOptions, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", method)
		req.Header.Set("Access-Control-Request-Headers", headers) // lowercase and sorted, as browsers send it
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	t.Run("a page of a listed origin may call every protocol", func(t *testing.T) {
		srv, _ := startProbed(t, "https://shop.example.com")
		for _, c := range []struct{ path, method, headers string }{
			{"/test.v1.Echo/Say", "POST", "connect-protocol-version,connect-timeout-ms,content-type"}, // Connect
			{"/test.v1.Echo/Say", "POST", "content-type,grpc-timeout,x-grpc-web,x-user-agent"},        // gRPC-Web
			{"/v1/say/x", "POST", "authorization,content-type,traceparent"},                           // REST
		} {
			resp := preflight(t, srv.URL()+c.path, "https://shop.example.com", c.method, c.headers)
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://shop.example.com" {
				t.Errorf("preflight of %s with %s: Access-Control-Allow-Origin %q, want the page's origin", c.path, c.headers, got)
			}
		}
		resp, body := post(t, srv.URL()+"/test.v1.Echo/Say", "application/json", `{"name":"z"}`, "Origin", "https://shop.example.com")
		if resp.StatusCode != 200 || !strings.Contains(body, "Hello, z!") {
			t.Fatalf("the call itself: %d %s", resp.StatusCode, body)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://shop.example.com" {
			t.Errorf("the reply's Access-Control-Allow-Origin is %q: the page could not read it", got)
		}
		if got := resp.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(got, "Grpc-Status") {
			t.Errorf("Access-Control-Expose-Headers %q: a gRPC-Web client could not read the status", got)
		}
	})
	t.Run("a page of another origin may not", func(t *testing.T) {
		srv, _ := startProbed(t, "https://shop.example.com")
		resp := preflight(t, srv.URL()+"/test.v1.Echo/Say", "https://evil.example", "POST", "content-type")
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("another origin's preflight was allowed: %q", got)
		}
		resp, _ = post(t, srv.URL()+"/test.v1.Echo/Say", "application/json", `{"name":"z"}`, "Origin", "https://evil.example")
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("another origin may read the reply: %q", got)
		}
	})
	t.Run("without cors_origins no page may", func(t *testing.T) {
		srv, _ := startProbed(t)
		resp := preflight(t, srv.URL()+"/test.v1.Echo/Say", "https://shop.example.com", "POST", "content-type")
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("a gateway without cors_origins allowed %q", got)
		}
	})
	t.Run("* lets any page", func(t *testing.T) {
		srv, _ := startProbed(t, "*")
		resp := preflight(t, srv.URL()+"/test.v1.Echo/Say", "http://localhost:5173", "POST", "connect-protocol-version,content-type")
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" && got != "http://localhost:5173" {
			t.Errorf("Access-Control-Allow-Origin %q, want any origin allowed", got)
		}
	})
}
