package host

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
	"parigot.dev/parigot/runtime/observe"
)

// A reply with a code beyond the list answers its caller with Internal at
// once, as such a reply from another process does in split mode, and tells
// the replying guest its argument was bad.
func TestAReplyWithACodeBeyondTheListIsInternal(t *testing.T) {
	ctx := context.Background()
	mem := testMemory(t)
	a := &run{log: slog.New(slog.NewTextHandler(io.Discard, nil)), byService: map[string]*instance{}}
	caller := newInstance(a, &GuestSpec{Name: "bench", Kind: Program})
	svc := newInstance(a, &GuestSpec{Name: "echo", Kind: Service, Implements: []string{"test.Echo"}, MethodTimeout: time.Second})
	for _, code := range []uint64{uint64(abi.MaxCode) + 1, 99, 0xffff_ffff} {
		id := caller.dispatch(svc, "test.Echo/Echo", []byte("hi"), 0)
		call, ok, _ := svc.next(ctx, 0)
		if !ok {
			t.Fatal("the service got no call")
		}
		svc.pop()
		if st := hostReply(ctx, svc, mem, []uint64{call.CallID, code, 0, 4}); st != abi.StatusBadArgument {
			t.Errorf("code %d: status %v, want bad argument", code, st)
		}
		ev, ok, _ := caller.next(ctx, 0)
		if !ok || ev.CallID != id || ev.Code != abi.CodeInternal {
			t.Fatalf("code %d: the caller got %+v (ok %v), want Internal for call %d", code, ev, ok, id)
		}
		if _, msg, _, err := abi.DecodeError(ev.Payload); err != nil || msg != "malformed reply from service echo" {
			t.Errorf("code %d: message %q (%v)", code, msg, err)
		}
		caller.pop()
	}
}

// A method name that is not UTF-8 is refused at dispatch: names are shown
// in metrics, logs and traces, and one that is not text must not reach
// them (it made the metrics panic inside the callee's reply).
func TestADispatchNamingAMethodThatIsNotTextIsRefused(t *testing.T) {
	ctx := context.Background()
	mem := testMemory(t)
	callee := &farEnd{}
	caller := newInstance(&run{}, &GuestSpec{Name: "prog", Kind: Program})
	caller.handles = []route.Endpoint{callee}
	mem.Write(0, []byte("test.Echo/Echo\xff"))
	// handle 1, method at 0 (15 bytes), no request, the call id to 64
	if st := hostDispatch(ctx, caller, mem, []uint64{1, 0, 15, 0, 0, 64, 0}); st != abi.StatusBadArgument {
		t.Errorf("status %v, want bad argument", st)
	}
	if len(callee.got) != 0 || caller.inFlight() != 0 {
		t.Errorf("the callee got %d calls, %d in flight; want none", len(callee.got), caller.inFlight())
	}
}

// Calls answered Unimplemented are counted under one method label, so
// that made-up method names cannot grow the metrics without bound; calls
// of a method the service has keep its name.
func TestCallsOfMethodsNoServiceHasShareOneMetricsLabel(t *testing.T) {
	ctx := context.Background()
	a := &run{log: slog.New(slog.NewTextHandler(io.Discard, nil)), byService: map[string]*instance{}, obs: observe.NewMetrics(), observing: true}
	caller := newInstance(a, &GuestSpec{Name: "bench", Kind: Program})
	svc := newInstance(a, &GuestSpec{Name: "echo", Kind: Service, Implements: []string{"test.Echo"}, MethodTimeout: time.Second})
	for i, m := range []string{"test.Echo/M1", "test.Echo/M2", "test.Echo/M3", "test.Echo/Echo"} {
		caller.dispatch(svc, m, nil, 0)
		call, ok, _ := svc.next(ctx, 0)
		if !ok {
			t.Fatal("the service got no call")
		}
		svc.pop()
		code := abi.CodeUnimplemented
		if i == 3 {
			code = abi.CodeOK
		}
		svc.reply(call.CallID, code, nil)
	}
	rec := httptest.NewRecorder()
	a.obs.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	text := rec.Body.String()
	for _, want := range []string{
		`parigot_calls_total{caller="bench",code="unimplemented",guest="echo",method="(unimplemented)"} 3`,
		`parigot_calls_total{caller="bench",code="ok",guest="echo",method="test.Echo/Echo"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the metrics lack %s", want)
		}
	}
	if strings.Contains(text, "M1") {
		t.Error("a method no service has is in the metrics")
	}
}

// When a service ends, the calls it had not taken yet say so (they never
// reached its method, which a topic's redelivery counts as no attempt);
// the call it was serving does not.
func TestACallItsServiceNeverTookSaysSoWhenTheServiceEnds(t *testing.T) {
	ctx := context.Background()
	a := &run{log: slog.New(slog.NewTextHandler(io.Discard, nil)), byService: map[string]*instance{}}
	svc := newInstance(a, &GuestSpec{Name: "echo", Kind: Service, Implements: []string{"test.Echo"}, MethodTimeout: time.Second})
	caller := &farEnd{}
	for i := range uint64(3) {
		svc.Deliver(abi.Event{Kind: abi.KindCall, CallID: 10 + i, Method: "test.Echo/Echo", Deadline: time.Now().Add(time.Minute).UnixNano()}, caller)
	}
	if _, ok, _ := svc.next(ctx, 0); !ok {
		t.Fatal("the service got no call")
	}
	svc.pop() // call 10 taken; 11 drained, not taken; 12 likewise
	svc.close("service echo panicked")
	got := map[uint64]string{}
	for _, ev := range caller.got {
		got[ev.CallID] = abi.ErrorMessage(ev.Payload)
	}
	want := map[uint64]string{10: "service echo panicked", 11: "service echo panicked" + route.NotTaken, 12: "service echo panicked" + route.NotTaken}
	if !maps.Equal(got, want) {
		t.Errorf("the callers were told %v, want %v", got, want)
	}
}
