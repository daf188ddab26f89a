package split

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/runtime/internal/abi"
)

// A flood of calls that no replica takes asks once whether the service
// runs, not once per call: the calls that find no one while the question
// is in flight, or soon after its answer, take its answer, and each call
// is answered once. Past the answer's freshness, the next call asks
// again.
func TestCallsNoReplicaTakesAskOnceWhetherTheServiceRuns(t *testing.T) {
	ns := startConfiguredServer(t, "")
	// A replica of echo built from an upgraded proto package answers
	// readiness checks, and takes none of test.Echo's calls: counted
	// where the NATS server delivers the questions.
	var asked atomic.Int32
	replica := connectOpen(t, ns, "echo")
	if _, err := replica.Subscribe(subjects{"test"}.ready("echo"), func(m *nats.Msg) {
		asked.Add(1)
		m.Respond([]byte("test.v2.Echo"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := replica.Flush(); err != nil {
		t.Fatal(err)
	}

	caller := NewNetwork(connectOpen(t, ns, "ticker"), "test", identityGuests(), "ticker")
	caller.natsOnly = true
	// The answer stays fresh for the whole flood, however slow the
	// machine: what is counted is the questions, not how fast they go.
	caller.unserved.fresh = time.Hour
	const flood = 50
	got := make(replies, 2*flood)
	echo := caller.Service("test.Echo")
	for id := uint64(1); id <= flood; id++ {
		echo.Deliver(call(id, "x"), got)
	}
	seen := map[uint64]bool{}
	for len(seen) < flood {
		ev := got.next(t)
		if seen[ev.CallID] {
			t.Fatalf("call %d was answered twice", ev.CallID)
		}
		seen[ev.CallID] = true
		if ev.Code != abi.CodeUnimplemented {
			t.Fatalf("call %d: %v %q, want unimplemented: echo serves test.v2.Echo", ev.CallID, ev.Code, abi.ErrorMessage(ev.Payload))
		}
	}
	if n := asked.Load(); n != 1 {
		t.Errorf("%d calls that no replica took asked %d times whether echo runs, want once", flood, n)
	}

	// An answer past its freshness is asked again.
	caller.unserved.fresh = time.Nanosecond
	echo.Deliver(call(flood+1, "x"), got)
	if ev := got.next(t); ev.CallID != flood+1 || ev.Code != abi.CodeUnimplemented {
		t.Fatalf("the call after the answer went stale: call %d %v %q", ev.CallID, ev.Code, abi.ErrorMessage(ev.Payload))
	}
	if n := asked.Load(); n != 2 {
		t.Errorf("the call after the answer went stale asked %d times in all, want twice", n)
	}
	select {
	case ev := <-got:
		t.Errorf("call %d was answered again", ev.CallID)
	default:
	}
}

// The calls that find no one while a question whether their callee runs
// is in flight wait for its answer, and ask nothing; a question of
// another callee is asked apart.
func TestCallsThatFindNoOneWhileTheQuestionIsInFlightTakeItsAnswer(t *testing.T) {
	// Calls that come after the answer take it too while it is fresh:
	// fresh for the whole test, however late the machine starts them.
	a := unservedAnswers{fresh: time.Hour}
	var asks atomic.Int32
	release := make(chan struct{})
	ask := func() string {
		asks.Add(1)
		<-release
		return "serves other"
	}
	const calls = 10
	got := make(chan string, calls)
	go func() { got <- a.answer("echo", ask) }()
	waitFor(t, "the first call's question", func() bool { return asks.Load() == 1 })
	for range calls - 1 {
		go func() { got <- a.answer("echo", ask) }()
	}
	if msg := a.answer("faulty", func() string { return "" }); msg != "" {
		t.Errorf("another callee's question was answered %q, want its own answer", msg)
	}
	close(release)
	for range calls {
		if msg := <-got; msg != "serves other" {
			t.Errorf("a call took the answer %q, want the question's", msg)
		}
	}
	if n := asks.Load(); n != 1 {
		t.Errorf("%d calls asked %d times, want once", calls, n)
	}
}
