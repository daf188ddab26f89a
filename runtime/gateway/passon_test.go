package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/native"
)

// startWithHeaders serves the Echo service of testProto, passing on the
// request headers names.
func startWithHeaders(t *testing.T, names ...string) (*Server, *fakeService) {
	t.Helper()
	schema, err := ParseSchema(testSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeService{}
	srv, err := Start(Spec{Name: "test", Listen: "127.0.0.1:0", Services: []string{"test.v1.Echo"}, Headers: names}, schema,
		services{fake}, native.NewCaller(NativeIdentity), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv, fake
}

// lastHeader is the header of the fake's last call, as "name: value" lines.
func lastHeader(fake *fakeService) string {
	fake.mu.Lock()
	defer fake.mu.Unlock()
	var lines []string
	abi.HeaderValues(fake.header, func(n, v string) bool {
		lines = append(lines, n+": "+v)
		return true
	})
	return strings.Join(lines, "\n")
}

// TestTheConfiguredHeadersReachTheMethodInEveryProtocol: a gateway whose
// block lists authorization and x-request-id passes them on, and no other
// header (a cookie, the client's user agent), over REST, Connect,
// gRPC-Web and gRPC (grpc-go's server, from a real grpc-go client).
func TestTheConfiguredHeadersReachTheMethodInEveryProtocol(t *testing.T) {
	srv, fake := startWithHeaders(t, "authorization", "x-request-id")
	const want = "authorization: Bearer abc\nx-request-id: r-1"
	sent := []string{"Authorization", "Bearer abc", "X-Request-Id", "r-1", "Cookie", "session=s", "X-Other", "o"}
	t.Run("REST", func(t *testing.T) {
		if resp, body := post(t, srv.URL()+"/v1/say/x", "application/json", `{}`, sent...); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", resp.Status, body)
		}
		if got := lastHeader(fake); got != want {
			t.Errorf("the method got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("Connect", func(t *testing.T) {
		if resp, body := post(t, srv.URL()+"/test.v1.Echo/Say", "application/json", `{"name":"x"}`, sent...); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", resp.Status, body)
		}
		if got := lastHeader(fake); got != want {
			t.Errorf("the method got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("gRPC-Web", func(t *testing.T) {
		client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](http.DefaultClient, srv.URL()+"/test.v1.Echo/Say", connect.WithGRPCWeb())
		req := connect.NewRequest(wrapperspb.String("x"))
		for i := 0; i < len(sent); i += 2 {
			req.Header().Add(sent[i], sent[i+1])
		}
		if _, err := client.CallUnary(t.Context(), req); err != nil {
			t.Fatal(err)
		}
		if got := lastHeader(fake); got != want {
			t.Errorf("the method got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("gRPC", func(t *testing.T) {
		conn := grpcClient(t, srv)
		ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer abc", "x-request-id", "r-1", "cookie", "session=s", "x-other", "o")
		if _, err := say(ctx, conn, "Say", "x"); err != nil {
			t.Fatal(err)
		}
		if got := lastHeader(fake); got != want {
			t.Errorf("the method got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("a request without them carries none", func(t *testing.T) {
		if resp, body := post(t, srv.URL()+"/test.v1.Echo/Say", "application/json", `{"name":"x"}`, "Cookie", "session=s"); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", resp.Status, body)
		}
		fake.mu.Lock()
		defer fake.mu.Unlock()
		if fake.header != nil {
			t.Errorf("the call carries header %q, want none", fake.header)
		}
	})
	t.Run("a header sent twice passes on both values, in order", func(t *testing.T) {
		conn := grpcClient(t, srv)
		ctx := metadata.AppendToOutgoingContext(t.Context(), "x-request-id", "a", "x-request-id", "b")
		if _, err := say(ctx, conn, "Say", "x"); err != nil {
			t.Fatal(err)
		}
		if got, want := lastHeader(fake), "x-request-id: a\nx-request-id: b"; got != want {
			t.Errorf("the method got\n%s\nwant\n%s", got, want)
		}
	})
}

// TestAGatewayWithoutHeadersPassesNoneOn: with no headers in its block,
// the gateway passes on nothing, Authorization included.
func TestAGatewayWithoutHeadersPassesNoneOn(t *testing.T) {
	srv, fake := startTest(t)
	if resp, body := post(t, srv.URL()+"/test.v1.Echo/Say", "application/json", `{"name":"x"}`, "Authorization", "Bearer abc"); resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", resp.Status, body)
	}
	conn := grpcClient(t, srv)
	if _, err := say(metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer abc"), conn, "Say", "x"); err != nil {
		t.Fatal(err)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if fake.header != nil {
		t.Errorf("the call carries header %q, want none", fake.header)
	}
}

// TestHeadersOverTheLimitAreRefused: headers to pass on of more than
// abi.MaxHeader bytes fail the request with invalid argument, saying
// why, and the method is not called.
func TestHeadersOverTheLimitAreRefused(t *testing.T) {
	srv, fake := startWithHeaders(t, "authorization")
	big := "Bearer " + strings.Repeat("a", abi.MaxHeader)
	const msg = "the request headers the gateway passes on to the method (authorization) are larger than its limit of 8192 bytes; send smaller ones"
	resp, body := post(t, srv.URL()+"/test.v1.Echo/Say", "application/json", `{"name":"x"}`, "Authorization", big)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"invalid_argument"`) || !strings.Contains(body, msg) {
		t.Errorf("Connect: %s %s, want 400 invalid_argument: %s", resp.Status, body, msg)
	}
	resp, body = post(t, srv.URL()+"/v1/say/x", "application/json", `{}`, "Authorization", big)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, msg) {
		t.Errorf("REST: %s %s, want 400: %s", resp.Status, body, msg)
	}
	conn := grpcClient(t, srv)
	_, err := say(metadata.AppendToOutgoingContext(t.Context(), "authorization", big), conn, "Say", "x")
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || st.Message() != msg {
		t.Errorf("gRPC: %v, want InvalidArgument: %s", err, msg)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if fake.calls != 0 {
		t.Errorf("the method was called %d times, want none", fake.calls)
	}
}
