package host

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/internal/native"
	"parigot.dev/parigot/runtime/observe"
)

// A call whose caller gave it up before its service took it (a gateway's
// client that hung up: the native caller's ctx ended) is dropped unrun,
// counted in parigot_calls_dropped_total as given up, and the live call
// behind it is answered: the service runs only that one.
func TestACallItsCallerGaveUpIsDroppedUnrun(t *testing.T) {
	reg := native.NewRegistry()
	metrics := observe.NewMetrics()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	back := &GuestSpec{Name: "back", Kind: Service, Wasm: wasm(t, "chain"), Implements: []string{"test.Back"},
		MethodTimeout: time.Minute, Env: []string{"CHAIN_SERVE=test.Back"}}
	var out lines.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := Run(ctx, Config{Guests: []*GuestSpec{back}, Stdout: &out, Stderr: &out, Remote: reg, Metrics: metrics}); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}()
	defer func() { cancel(); <-done }()
	if err := reg.WaitReady(ctx, []string{"back"}, nil); err != nil {
		t.Fatal(err)
	}
	ep := reg.Service("test.Back")
	caller := native.NewCaller("gateway")
	relay := func(ctx context.Context, s string) (string, error) {
		req, _ := proto.Marshal(wrapperspb.String(s))
		ev, err := caller.Call(ctx, ep, "test.Back/Relay", req)
		if err != nil {
			return "", err
		}
		if ev.Code != abi.CodeOK {
			return "", errors.New(ev.Code.String())
		}
		var r wrapperspb.StringValue
		proto.Unmarshal(ev.Payload, &r)
		return r.GetValue(), nil
	}

	// Busy holds the service for half a second: the calls after it wait
	// in its inbox.
	busy := make(chan error, 1)
	go func() {
		_, err := caller.Call(ctx, ep, "test.Back/Busy", nil)
		busy <- err
	}()
	in := ep.(*instance)
	for deadline := time.Now().Add(patience); in.busySince.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the service never took Busy:\n%s", out.String())
		}
	}
	// Each of these is delivered, then given up at once: its ctx has
	// ended, as a gateway's request's does when its client hangs up.
	const givenUp = 5
	gone, giveUp := context.WithCancel(ctx)
	giveUp()
	for i := range givenUp {
		if _, err := relay(gone, "abandoned"); !errors.Is(err, context.Canceled) {
			t.Fatalf("given-up call %d: %v, want context canceled", i, err)
		}
	}
	if got, err := relay(ctx, "live"); err != nil || got != "live" {
		t.Fatalf("the live call: %q, %v; want its echo", got, err)
	}
	if err := <-busy; err != nil {
		t.Fatal(err)
	}
	ev, err := caller.Call(ctx, ep, "test.Back/Count", nil)
	if err != nil {
		t.Fatal(err)
	}
	var count wrapperspb.StringValue
	proto.Unmarshal(ev.Payload, &count)
	if got := count.GetValue(); got != "relayed 1" {
		t.Errorf("the service says %q, want \"relayed 1\": it ran given-up calls", got)
	}
	rec := httptest.NewRecorder()
	metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`parigot_calls_dropped_total{guest="back",reason="given up"} 5`,
		`parigot_calls_dropped_total{guest="back",reason="deadline"} 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(string(body), "parigot_calls_dropped"))
		}
	}
}
