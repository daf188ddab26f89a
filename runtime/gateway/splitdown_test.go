package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/split"
)

// A split-mode gateway waits for its services to be ready before it
// serves, but not for one that is down for good, which never will be: it
// says so, serves, and answers that service's calls with unavailable, as a
// single-mode gateway does.
func TestASplitGatewayDoesNotWaitForAServiceDownForGood(t *testing.T) {
	schema, err := ParseSchema(testSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	guests := []*host.GuestSpec{{Name: "echo", Kind: host.Service, Implements: []string{"test.v1.Echo"}, MethodTimeout: time.Second, Replicas: 1}}
	specs := []Spec{{Name: "public", Listen: "127.0.0.1:0", Guests: []string{"echo"}, Services: []string{"test.v1.Echo"}}}
	srv, err := split.StartServer("test", split.WithGateways(guests, SplitGateways(specs)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	urls := make(chan string, 1)
	var mu sync.Mutex
	var said []string
	serve := ServeSplit(SplitOptions{App: "test", Guests: guests, Gateways: specs, Schema: schema,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Listening: func(_, url string) { urls <- url },
		NotWaiting: func(gw, service string) {
			mu.Lock()
			defer mu.Unlock()
			said = append(said, gw+" "+split.NotWaitingFor(service))
		}})
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, srv.Connector(), func(guest string) bool { return guest == "echo" }) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serving ended with %v", err)
		}
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-served:
		t.Fatalf("the gateway did not serve: %v", err)
	case <-time.After(2 * time.Minute): // a hang fails, not a bound on the test's time
		t.Fatal("the gateway still waits for a service that is down for good")
	}
	resp, body := post(t, url+"/test.v1.Echo/Say", "application/json", `{"text":"hi"}`)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "unavailable") {
		t.Errorf("a call to the service down for good: %d %s, want 503 unavailable", resp.StatusCode, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := "public does not wait for service echo, which is down for good"; len(said) != 1 || !strings.HasPrefix(said[0], want) {
		t.Errorf("said %q, want once a line starting %q", said, want)
	}
}
