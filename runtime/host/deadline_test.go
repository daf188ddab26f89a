package host

import (
	"context"
	"testing"
	"time"
)

// A call made while serving another inherits what is left of that call's
// deadline, less a margin (a sixteenth of what is left, at most
// maxAnswerMargin), so that the callee up the chain learns why the call
// below it failed before its own caller's deadline, and can say so; a
// callee whose own budget ends sooner keeps its budget.
func TestACallInheritsItsCallersDeadlineLessAMarginToAnswerIn(t *testing.T) {
	a := &run{}
	middle := newInstance(a, &GuestSpec{Name: "middle", Kind: Service, MethodTimeout: time.Minute})
	for _, c := range []struct {
		name   string
		budget time.Duration // the callee's
		left   time.Duration // of the call middle serves
		// margin is the deadline's distance before the caller's: zero for
		// a call whose callee's budget comes first.
		margin    func(left int64) int64
		inherited bool
	}{
		{"a sixteenth of what is left", time.Minute, 320 * time.Millisecond, func(left int64) int64 { return left / 16 }, true},
		{"at most maxAnswerMargin", 2 * time.Hour, time.Hour, func(int64) int64 { return int64(maxAnswerMargin) }, true},
		{"the callee's budget when it ends first", 50 * time.Millisecond, time.Minute, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			back := newInstance(a, &GuestSpec{Name: "back", Kind: Service, MethodTimeout: c.budget})
			before := unixNano()
			callerDeadline := before + int64(c.left)
			id := middle.dispatch(back, "test.Back/Relay", nil, callerDeadline)
			after := unixNano()
			call, ok, _ := back.next(context.Background(), 0)
			if !ok {
				t.Fatal("the callee got no call")
			}
			back.pop()
			if got := middle.pending[id].inherited; got != c.inherited {
				t.Errorf("inherited = %v, want %v", got, c.inherited)
			}
			if c.margin == nil {
				if call.Deadline < before+int64(c.budget) || call.Deadline > after+int64(c.budget) {
					t.Errorf("deadline %v from the dispatch, want the callee's budget, %v", time.Duration(call.Deadline-before), c.budget)
				}
				return
			}
			// The margin is taken of what was left at the dispatch, between
			// before and after.
			latest := callerDeadline - c.margin(callerDeadline-after)
			earliest := callerDeadline - c.margin(callerDeadline-before)
			if call.Deadline < earliest || call.Deadline > latest {
				t.Errorf("deadline %v before the caller's, want %v to %v", time.Duration(callerDeadline-call.Deadline),
					time.Duration(callerDeadline-latest), time.Duration(callerDeadline-earliest))
			}
		})
	}
}
