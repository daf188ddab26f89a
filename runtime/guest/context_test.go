package guest

import (
	"context"
	"testing"
	"time"
)

// A method may keep its context past its call: the contexts of later
// calls, made from the same blocks, must not change its deadline.
func TestACallsContextKeepsItsDeadlineAfterLaterCalls(t *testing.T) {
	var l eventLoop
	first := time.Unix(100, 0)
	kept := l.callContext(context.Background(), first.UnixNano(), nil)
	for i := 1; i <= 200; i++ { // more calls than one block holds
		ctx := l.callContext(context.Background(), int64(i), nil)
		if d, ok := ctx.Deadline(); !ok || d.UnixNano() != int64(i) {
			t.Fatalf("call %d's context has deadline %v, %v", i, d, ok)
		}
	}
	if d, ok := kept.Deadline(); !ok || !d.Equal(first) {
		t.Errorf("the kept context's deadline became %v (%v), want %v", d, ok, first)
	}
}
