package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/internal/native"
	"parigot.dev/parigot/runtime/internal/route"
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

// farService is a service in another process that never answers, and
// hears which calls their callers gave up (route.Canceller, as split
// mode's proxies do).
type farService struct {
	mu        sync.Mutex
	delivered []uint64
	gaveUp    []string // "id expired"
	from      map[route.Endpoint]bool
}

func (f *farService) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delivered = append(f.delivered, ev.CallID)
	f.from[from] = true
	return route.Accepted
}
func (f *farService) Cancel(id uint64, from route.Endpoint, expired bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.from[from] {
		id = 0 // not a caller of this service
	}
	f.gaveUp = append(f.gaveUp, fmt.Sprintf("%d %v", id, expired))
}
func (f *farService) GuestName() string            { return "echo" }
func (f *farService) MethodTimeout() time.Duration { return 50 * time.Millisecond }

type farRemote struct{ svc *farService }

func (r farRemote) Service(name string) route.Endpoint {
	if name == "test.Echo" {
		return r.svc
	}
	return nil
}
func (farRemote) Serve(string, []string, route.Endpoint) error { return nil }
func (farRemote) Ready(string) error                           { return nil }

// A guest's call to a service in another process that gets no reply by
// its deadline is given up to that process (split mode says so on a
// direct connection over TCP, whose replica cannot tell the deadline by
// its own clock): each call the program made and waited out.
func TestACallThatExpiresIsGivenUpToItsServiceElsewhere(t *testing.T) {
	far := &farService{from: map[route.Endpoint]bool{}}
	caller := &GuestSpec{Name: "caller", Kind: Program, Wasm: wasm(t, "caller"), Requires: []string{"echo"}}
	var out bytes.Buffer
	res, err := Run(t.Context(), Config{Guests: []*GuestSpec{caller}, Stdout: &out, Stderr: &out, Remote: farRemote{far}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run: %v, exit %d\n%s", err, res.ExitCode, out.String())
	}
	far.mu.Lock()
	defer far.mu.Unlock()
	var want []string
	for _, id := range far.delivered {
		want = append(want, fmt.Sprintf("%d true", id))
	}
	if len(want) == 0 || !slices.Equal(far.gaveUp, want) {
		t.Errorf("given up: %q, want each call the program made (%v), expired\n%s", far.gaveUp, far.delivered, out.String())
	}
}
