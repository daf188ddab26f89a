package native

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/routetest"
)

// answer replies to c with its own call id as the payload.
func answer(c routetest.Held) {
	id := strconv.FormatUint(c.Ev.CallID, 10)
	c.From.Deliver(abi.Event{Kind: abi.KindReply, CallID: c.Ev.CallID, Code: abi.CodeOK, Payload: []byte(id)}, nil)
}

// A reply that comes after its call gave up must not reach a later call,
// whatever the caller reuses from one call to the next.
func TestALateReplyReachesNoLaterCall(t *testing.T) {
	svc := routetest.NewHolding("svc", 50*time.Millisecond, 16)
	c := NewCaller("test")
	ctx := context.Background()

	_, err := c.Call(ctx, svc, "test.Svc/M", nil)
	var de *DeadlineError
	if !errors.As(err, &de) {
		t.Fatalf("a call with no reply ended with %v, want its budget's deadline", err)
	}
	late := <-svc.Got
	answer(late) // after the call gave up

	for i := range 3 {
		svc.Budget = time.Minute
		go func() { answer(<-svc.Got) }()
		ev, err := c.Call(ctx, svc, "test.Svc/M", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(ev.Payload), strconv.FormatUint(late.Ev.CallID+1+uint64(i), 10); got != want {
			t.Errorf("call %d got the reply to call %s, want its own (%s)", i+2, got, want)
		}
	}
}

// A call whose ctx ends stops waiting at once, and its reply, when it
// comes, is dropped.
func TestACallStopsWaitingWhenItsContextEnds(t *testing.T) {
	svc := routetest.NewHolding("svc", time.Minute, 16)
	c := NewCaller("test")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-svc.Got
		cancel()
	}()
	if _, err := c.Call(ctx, svc, "test.Svc/M", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the context's error", err)
	}
	c.mu.Lock()
	left := len(c.waiting)
	c.mu.Unlock()
	if left != 0 {
		t.Errorf("%d calls still wait for a reply after their call ended", left)
	}
}
