package split

import (
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
)

// A caller built before its service's proto package changed (a rolling
// upgrade, one machine at a time) calls a service that runs but serves
// the new package only: it is told so, as unimplemented, with what to
// do, rather than that the service is not running. Once no replica runs,
// it is told that, as before (once the answer it had is stale).
func TestACallerOfAServiceThatNowServesAnotherProtoPackageIsToldSo(t *testing.T) {
	ns := startConfiguredServer(t, "")
	upgraded := identityGuests()
	upgraded[0].Implements = []string{"test.v2.Echo"}
	replica := NewNetwork(connectOpen(t, ns, "echo"), "test", upgraded, "echo")
	if err := replica.Serve("echo", []string{"test.v2.Echo"}, &fakeService{name: "echo#1"}); err != nil {
		t.Fatal(err)
	}
	if err := replica.Ready("echo"); err != nil {
		t.Fatal(err)
	}
	caller := callerWhenReady(t, NewNetwork(connectOpen(t, ns, "ticker"), "test", identityGuests(), "ticker"))

	got := make(replies, 1)
	caller.Service("test.Echo").Deliver(call(1, "x"), got)
	ev := got.next(t)
	want := "service echo runs, serving test.v2.Echo, not test.Echo: it was built from protos or a parigot.hcl that name its services otherwise than this process's (a proto package changed, say). " +
		"During a rolling upgrade, have it implement both, the old beside the new, until every caller is upgraded; else build every machine from the same sources"
	if ev.Code != abi.CodeUnimplemented || abi.ErrorMessage(ev.Payload) != want {
		t.Errorf("a call of test.Echo: %v %q\nwant unimplemented: %q", ev.Code, abi.ErrorMessage(ev.Payload), want)
	}

	if err := replica.Close(); err != nil {
		t.Fatal(err)
	}
	// The answer whether echo runs serves the calls that find no one for
	// a second (unservedFresh): until it goes stale, they are told what
	// it said.
	deadline := time.Now().Add(patience)
	for id := uint64(2); ; id++ {
		caller.Service("test.Echo").Deliver(call(id, "x"), got)
		ev := got.next(t)
		if ev.Code == abi.CodeUnavailable && abi.ErrorMessage(ev.Payload) == "service echo is not running" {
			break
		}
		if ev.Code != abi.CodeUnimplemented || time.Now().After(deadline) {
			t.Fatalf("a call once echo stopped: %v %q, want unavailable: service echo is not running", ev.Code, abi.ErrorMessage(ev.Payload))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
