package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/internal/native"
	"parigot.dev/parigot/runtime/internal/route"
	"parigot.dev/parigot/runtime/internal/routetest"
)

// A client that gives up its call (hangs up, cancels its context) before
// the service answers gives the call up to the service too: whatever its
// protocol, the call the service has is one its caller abandoned, which
// a service that has not taken it yet drops unrun (runtime/host).
func TestAClientThatGivesUpGivesItsCallUp(t *testing.T) {
	schema, err := ParseSchema(testSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	svc := routetest.NewHolding("echo", time.Minute, 1)
	srv, err := Start(Spec{Name: "test", Listen: "127.0.0.1:0", Services: []string{"test.v1.Echo"}}, schema,
		services{svc}, native.NewCaller(NativeIdentity), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	clients := map[string]func(ctx context.Context) error{
		"HTTP/1.1 JSON (curl)": func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL()+"/test.v1.Echo/Say", strings.NewReader(`{"text":"x"}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			return err
		},
		"gRPC (grpc-go)": func(ctx context.Context) error {
			_, err := say(ctx, grpcClient(t, srv), "Say", "x")
			return err
		},
		"Connect (connect-go, HTTP/2)": func(ctx context.Context) error {
			client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](h2cClient(), srv.URL()+"/test.v1.Echo/Say")
			_, err := client.CallUnary(ctx, connect.NewRequest(wrapperspb.String("x")))
			return err
		},
	}
	for name, call := range clients {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			ended := make(chan error, 1)
			go func() { ended <- call(ctx) }()
			var c routetest.Held
			select {
			case c = <-svc.Got:
			case err := <-ended:
				t.Fatalf("the call ended (%v) before it reached the service", err)
			}
			a, ok := c.From.(route.Abandoner)
			if !ok || !c.Ev.Abandonable {
				t.Fatalf("a gateway's call cannot be given up: from %T, abandonable %v", c.From, c.Ev.Abandonable)
			}
			if a.Abandoned(c.Ev.CallID) {
				t.Fatal("a call is given up while its client waits")
			}
			cancel()
			if err := <-ended; err == nil {
				t.Fatal("the client's call succeeded")
			}
			waitFor(t, "the call to be given up", func() bool { return a.Abandoned(c.Ev.CallID) })
		})
	}
}

// waitFor waits until cond holds, or fails the test after a minute, which
// no busy machine reaches: reaching it means the thing never happens.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
	}
}
