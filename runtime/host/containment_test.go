package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// The tests below would hang, not fail, on a host whose guests cannot be
// preempted: the Go garbage collector's stop-the-world would wait forever
// for the guest that loops. go test's own timeout then ends them with every
// goroutine's stack.

func TestAServiceSpinningForeverStallsNoOtherGuest(t *testing.T) {
	faulty := &GuestSpec{Name: "faulty", Kind: Service, Wasm: wasm(t, "faulty"), Implements: []string{"test.Faulty"},
		MethodTimeout: 50 * time.Millisecond, Overrun: OverrunReport}
	spinner := &GuestSpec{Name: "faultcaller", Kind: Program, Wasm: wasm(t, "faultcaller"), Requires: []string{"faulty"}, Env: []string{"FAULT=Spin"}}
	loader := &GuestSpec{Name: "loader", Kind: Program, Wasm: wasm(t, "loader"), Requires: []string{"echo"}, Env: []string{"LOAD_N=2000", "LOAD_DEPTH=4"}}
	echo := echoService(t)
	echo.MethodTimeout = time.Minute
	// Once the host says faulty is spinning, a collection must still
	// complete: its stop-the-world has to preempt the spinning guest.
	out := &watchOutput{on: `(on_overrun = "report": left running)`, do: runtime.GC}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := Run(ctx, Config{Guests: []*GuestSpec{echo, faulty, spinner, loader}, Stdout: out, Stderr: out})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	if !out.done.Load() {
		t.Errorf("the spinning was never reported, so no collection was forced during it:\n%s", out)
	}
	if !strings.Contains(out.String(), "loader: calls=2000 ok=2000 failed=0 mismatched=0 duplicated=0") {
		t.Errorf("the loader did not finish its calls beside the spinning service:\n%s", out)
	}
	if !strings.Contains(out.String(), "faultcaller | Hello: test.Faulty/Hello: deadline exceeded") {
		t.Errorf("the call queued behind the spinning method did not end at its deadline:\n%s", out)
	}
	if res.ExitCode != 0 || len(res.Failures) != 0 {
		t.Errorf("exit %d, failures %v; want 0 and none (on_overrun = \"report\")", res.ExitCode, res.Failures)
	}
}

// watchOutput is a run's output that calls do, once, when a line contains
// on (on a goroutine of its own, so that do may block on the host).
type watchOutput struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	on   string
	do   func()
	once sync.Once
	done atomic.Bool // do has returned
}

func (w *watchOutput) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.on) {
		w.once.Do(func() {
			go func() {
				w.do()
				w.done.Store(true)
			}()
		})
	}
	return len(p), nil
}

func (w *watchOutput) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestAProgramComputingForeverStallsNothingAndStopsWhenAsked(t *testing.T) {
	cruncher := &GuestSpec{Name: "cruncher", Kind: Program, Wasm: wasm(t, "cruncher")}
	loader := &GuestSpec{Name: "loader", Kind: Program, Wasm: wasm(t, "loader"), Requires: []string{"echo"}, Env: []string{"LOAD_N=2000", "LOAD_DEPTH=4"}}
	echo := echoService(t)
	echo.MethodTimeout = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Once the loader is done, a collection while cruncher computes, then a
	// stop, as Ctrl-C would.
	out := &watchOutput{on: "loader: calls=2000", do: func() { runtime.GC(); cancel() }}
	_, err := Run(ctx, Config{Guests: []*GuestSpec{echo, cruncher, loader}, Stdout: out, Stderr: out})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v, want it cancelled", err)
	}
	if !strings.Contains(out.String(), "loader: calls=2000 ok=2000 failed=0 mismatched=0 duplicated=0") {
		t.Errorf("the loader did not finish its calls beside the computing program:\n%s", out)
	}
}

func TestAFloodOfCallsIsRefusedAtOnceAndTheHostStaysSmall(t *testing.T) {
	echo := echoService(t)
	echo.MethodTimeout = time.Minute // Slow takes 300ms a call: queued calls wait, they do not time out
	echo.InboxBytes = 16 << 20
	flood := &GuestSpec{Name: "flood", Kind: Program, Wasm: wasm(t, "flood"), Requires: []string{"echo"}, MemoryLimit: 64 << 20,
		Env: []string{"FLOOD_N=200", fmt.Sprintf("FLOOD_SIZE=%d", abi.MaxPayload-16)}}
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak.Store(max(peak.Load(), m.HeapInuse))
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	res, out := runApp(t, echo, flood)
	close(stop)
	<-sampled
	var ok, exhausted, other int
	if _, err := fmt.Sscanf(out[strings.Index(out, "flood: ")+len("flood: "):], "ok=%d resource_exhausted=%d other=%d", &ok, &exhausted, &other); err != nil {
		t.Fatalf("no summary from the flood program (%v):\n%s", err, out)
	}
	// 200 calls of 4 MiB would be 800 MiB waiting; the inbox takes 16 MiB.
	if ok == 0 || exhausted < 150 || other != 0 {
		t.Errorf("ok=%d resource_exhausted=%d other=%d: want some calls served, the rest refused at once with resource exhausted", ok, exhausted, other)
	}
	if res.ExitCode != 0 || len(res.Failures) != 0 {
		t.Errorf("exit %d, failures %v", res.ExitCode, res.Failures)
	}
	t.Logf("peak heap in use: %d MiB", peak.Load()>>20)
	if p := peak.Load(); p > 512<<20 {
		t.Errorf("the host's heap reached %d MiB under the flood: want it bounded by the inbox (a few hundred MiB at most)", p>>20)
	}
}

// givingUp is a caller that gives up the calls it numbered in gaveUp
// (route.Abandoner), as a gateway does those of its clients that hung up.
type givingUp struct {
	farEnd
	gaveUp map[uint64]bool
}

func (g *givingUp) Abandoned(id uint64) bool { return g.gaveUp[id] }

// farEnd is an endpoint that keeps the replies it is given.
type farEnd struct{ got []abi.Event }

func (f *farEnd) Deliver(ev abi.Event, _ route.Endpoint) route.Refusal {
	f.got = append(f.got, ev)
	return route.Accepted
}
func (f *farEnd) GuestName() string            { return "far" }
func (f *farEnd) MethodTimeout() time.Duration { return time.Minute }

func TestInboxBounds(t *testing.T) {
	newGuest := func(calls, bytes int) *instance {
		return newInstance(&run{}, &GuestSpec{Name: "svc", Kind: Service, MethodTimeout: time.Second, InboxCalls: calls, InboxBytes: bytes})
	}
	call := func(id uint64, size int) abi.Event {
		return abi.Event{Kind: abi.KindCall, CallID: id, Method: "test.Echo/Echo", Payload: make([]byte, size)}
	}
	t.Run("a call over the count bound is refused as full, and taken again once one is read", func(t *testing.T) {
		in := newGuest(2, 1<<20)
		far := &farEnd{}
		for id := uint64(1); id <= 2; id++ {
			if r := in.Deliver(call(id, 10), far); r != route.Accepted {
				t.Fatalf("call %d refused: %v", id, r)
			}
		}
		if r := in.Deliver(call(3, 10), far); r != route.Full {
			t.Fatalf("a third call: %v, want full", r)
		}
		if _, ok, _ := in.next(context.Background(), 0); !ok {
			t.Fatal("no call to read")
		}
		in.pop()
		if r := in.Deliver(call(4, 10), far); r != route.Accepted {
			t.Errorf("after one was read: %v, want accepted", r)
		}
	})
	t.Run("a call over the byte bound is refused as full", func(t *testing.T) {
		in := newGuest(100, 1000)
		far := &farEnd{}
		if r := in.Deliver(call(1, 600), far); r != route.Accepted {
			t.Fatalf("first call: %v", r)
		}
		if r := in.Deliver(call(2, 600), far); r != route.Full {
			t.Errorf("a call past the bytes bound: %v, want full", r)
		}
	})
	t.Run("a call's request headers count toward the byte bound", func(t *testing.T) {
		in := newGuest(100, 1000)
		far := &farEnd{}
		first := call(1, 100)
		first.SetHeader(abi.AppendHeader(nil, "authorization", strings.Repeat("t", 600)))
		if r := in.Deliver(first, far); r != route.Accepted {
			t.Fatalf("first call: %v", r)
		}
		if r := in.Deliver(call(2, 400), far); r != route.Full {
			t.Errorf("a call past the bytes bound with the first call's headers: %v, want full", r)
		}
	})
	t.Run("an empty inbox takes any one call, even past the byte bound", func(t *testing.T) {
		in := newGuest(100, 1000)
		far := &farEnd{}
		if r := in.Deliver(call(1, 1200), far); r != route.Accepted {
			t.Fatalf("a call alone in the inbox: %v, want accepted", r)
		}
		if r := in.Deliver(call(2, 10), far); r != route.Full {
			t.Errorf("a call behind one past the bound: %v, want full", r)
		}
	})
	t.Run("a full inbox drops the calls their callers gave up to take another", func(t *testing.T) {
		in := newGuest(2, 1<<20)
		gateway := &givingUp{gaveUp: map[uint64]bool{}}
		for id := uint64(1); id <= 2; id++ {
			ev := call(id, 10)
			ev.Abandonable = true
			if r := in.Deliver(ev, gateway); r != route.Accepted {
				t.Fatalf("call %d refused: %v", id, r)
			}
		}
		gateway.gaveUp[1] = true
		if r := in.Deliver(call(3, 10), gateway); r != route.Accepted {
			t.Fatalf("a third call once the first was given up: %v, want accepted", r)
		}
		if r := in.Deliver(call(4, 10), gateway); r != route.Full {
			t.Fatalf("a fourth call, with two live ones waiting: %v, want full", r)
		}
		var got []uint64 // the calls the guest read, by the caller's ids
		for {
			ev, ok, _ := in.next(context.Background(), 0)
			if !ok {
				break
			}
			got = append(got, in.incoming[ev.CallID].callID)
			in.pop()
		}
		if want := []uint64{2, 3}; !slices.Equal(got, want) {
			t.Errorf("the guest read calls %v, want %v", got, want)
		}
		if n := in.given.Load(); n != 1 {
			t.Errorf("%d calls counted as given up, want 1", n)
		}
	})
	t.Run("a refused call completes at once with resource exhausted", func(t *testing.T) {
		callee := newGuest(1, 1<<20)
		caller := newInstance(&run{}, &GuestSpec{Name: "prog", Kind: Program})
		caller.dispatch(callee, "test.Echo/Echo", nil, 0)
		id := caller.dispatch(callee, "test.Echo/Echo", nil, 0)
		ev, ok, _ := caller.next(context.Background(), 0)
		if !ok || ev.CallID != id || ev.Code != abi.CodeResourceExhausted || !strings.Contains(abi.ErrorMessage(ev.Payload), "service svc is overloaded") {
			t.Errorf("got %v %v %q, want call %d refused with resource exhausted", ok, ev.Code, ev.Payload, id)
		}
	})
	t.Run("a reply over the unread bytes bound arrives as resource exhausted instead", func(t *testing.T) {
		caller := newInstance(&run{}, &GuestSpec{Name: "prog", Kind: Program, InboxBytes: 1000})
		callee := &farEnd{}
		a := caller.dispatch(callee, "test.Echo/Echo", nil, 0)
		b := caller.dispatch(callee, "test.Echo/Echo", nil, 0)
		caller.Deliver(abi.Event{Kind: abi.KindReply, CallID: a, Payload: make([]byte, 900)}, nil)
		caller.Deliver(abi.Event{Kind: abi.KindReply, CallID: b, Payload: make([]byte, 900)}, nil)
		first, _, _ := caller.next(context.Background(), 0)
		caller.pop()
		second, _, _ := caller.next(context.Background(), 0)
		caller.pop()
		if first.Code != abi.CodeOK || len(first.Payload) != 900 {
			t.Errorf("first reply: %v, %d bytes; want it whole", first.Code, len(first.Payload))
		}
		if second.Code != abi.CodeResourceExhausted || second.CallID != b {
			t.Errorf("second reply: %v for call %d; want resource exhausted for call %d", second.Code, second.CallID, b)
		}
		if caller.waitingBytes.Load() != 0 {
			t.Errorf("%d bytes still counted as waiting after both were read", caller.waitingBytes.Load())
		}
	})
	t.Run("a guest with the most calls in flight cannot dispatch another", func(t *testing.T) {
		ctx := context.Background()
		mem := testMemory(t)
		caller := newInstance(&run{}, &GuestSpec{Name: "prog", Kind: Program})
		caller.handles = []route.Endpoint{&farEnd{}}
		mem.Write(0, []byte("test.Echo/Echo"))
		// handle 1, method at 0 (14 bytes), no request, the call id to 64
		stack := []uint64{1, 0, 14, 0, 0, 64, 0}
		for i := range abi.MaxInFlight {
			if st := hostDispatch(ctx, caller, mem, stack); st != abi.StatusOK {
				t.Fatalf("dispatch %d: %v", i, st)
			}
		}
		if st := hostDispatch(ctx, caller, mem, stack); st != abi.StatusTooManyCalls {
			t.Errorf("one dispatch more: %v, want %v", st, abi.StatusTooManyCalls)
		}
	})
}
