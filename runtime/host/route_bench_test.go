package host

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
)

// BenchmarkRouting measures the host's own share of a call, without wasm:
// a caller dispatches, the callee takes the call from its inbox and
// replies, the caller takes the reply: the work of dispatch, two polls and
// reply, minus the guest-memory copies and the goroutine hand-offs.
//
//	go test ./runtime/host -run '^$' -bench Routing
func BenchmarkRouting(b *testing.B) {
	a := &run{log: slog.New(slog.NewTextHandler(io.Discard, nil)), byService: map[string]*instance{}}
	callee := newInstance(a, &GuestSpec{Name: "echo", Kind: Service, Implements: []string{"test.Echo"}, MethodTimeout: time.Second})
	caller := newInstance(a, &GuestSpec{Name: "bench", Kind: Program, Requires: []string{"echo"}})
	ctx := context.Background()
	method := []byte("test.Echo/EchoProto")
	payload := make([]byte, 100)
	b.ReportAllocs()
	for b.Loop() {
		name := caller.intern(method)
		id := caller.dispatch(callee, *name, append([]byte(nil), payload...), 0)
		ev, ok, _ := callee.next(ctx, -1)
		if !ok || ev.Kind != abi.KindCall {
			b.Fatal("no call")
		}
		callee.pop()
		callee.busyMethod.Store(callee.internString(ev.Method))
		callee.reply(ev.CallID, abi.CodeOK, append([]byte(nil), ev.Payload...))
		ev, ok, _ = caller.next(ctx, -1)
		if !ok || ev.CallID != id {
			b.Fatal("no reply")
		}
		caller.pop()
	}
}

// BenchmarkRoutingAcrossGoroutines is BenchmarkRouting with the callee on its
// own goroutine, blocked in next as a guest blocks in poll: it adds the two
// goroutine hand-offs (wake-ups) of every single-mode call.
//
//	go test ./runtime/host -run '^$' -bench RoutingAcrossGoroutines
func BenchmarkRoutingAcrossGoroutines(b *testing.B) {
	a := &run{log: slog.New(slog.NewTextHandler(io.Discard, nil)), byService: map[string]*instance{}}
	callee := newInstance(a, &GuestSpec{Name: "echo", Kind: Service, Implements: []string{"test.Echo"}, MethodTimeout: time.Second})
	caller := newInstance(a, &GuestSpec{Name: "bench", Kind: Program, Requires: []string{"echo"}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ev, ok, shutdown := callee.next(ctx, -1)
			if shutdown || !ok {
				return
			}
			callee.pop()
			callee.reply(ev.CallID, abi.CodeOK, append([]byte(nil), ev.Payload...))
		}
	}()
	method := []byte("test.Echo/EchoProto")
	payload := make([]byte, 100)
	for b.Loop() {
		id := caller.dispatch(callee, *caller.intern(method), append([]byte(nil), payload...), 0)
		ev, ok, _ := caller.next(ctx, -1)
		if !ok || ev.CallID != id {
			b.Fatal("no reply")
		}
		caller.pop()
	}
	cancel()
	<-done
}
