package split

import (
	"strings"
	"testing"
	"time"

	"parigot.dev/parigot/internal/syncbuf"
)

// builtReplica serves test.Echo as replica label of echo on machine,
// built as prints says.
func builtReplica(t *testing.T, srv *Server, label, machine string, prints map[string]Fingerprint) {
	t.Helper()
	n := onMachine(NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo"), machine)
	n.directHost, n.label = "127.0.0.1", label
	n.Built(prints)
	serveOn(t, n, &fakeService{name: label})
}

// A caller that finds a replica built from other protos than its own (a
// machine built from other sources) says so once, naming the service,
// the replica and its machine, and what to do; its calls still go to
// every replica and complete. A replica built alike is not said.
func TestACallerSaysOnceThatAReplicaWasBuiltFromOtherProtos(t *testing.T) {
	srv := startIdentityServer(t)
	ours := map[string]Fingerprint{"test.Echo": {Protos: "p-ours", Declaration: "d"}}
	builtReplica(t, srv, "echo#1", "7f3a9c21d0e4", map[string]Fingerprint{"test.Echo": {Protos: "p-theirs", Declaration: "d"}})
	builtReplica(t, srv, "echo#2", "machine-b", ours)

	var said syncbuf.Buffer
	n := networkOn(t, srv, "ticker", "machine-b")
	n.SayTo(&said)
	n.Built(ours)
	n.AcrossMachines() // asks for offers again and again
	caller := callerWhenReady(t, n)
	for deadline := time.Now().Add(patience); known(caller, "echo") < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the caller knows %d replicas of echo, want 2", known(caller, "echo"))
		}
	}
	// More offers asked for, and taken in, after the first of each.
	asked := askedFlushed(t, caller)
	for deadline := time.Now().Add(patience); askedFlushed(t, caller) < asked+2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the caller asks for no more offers")
		}
	}
	got := make(replies, 1)
	served := map[string]int{}
	for i := range uint64(4) {
		caller.Service("test.Echo").Deliver(call(i, "x"), got)
		name, _, _ := strings.Cut(string(got.next(t).Payload), ":")
		served[name]++
	}
	if served["echo#1"] != 2 || served["echo#2"] != 2 {
		t.Errorf("calls served %v, want 2 by each replica: one built from other protos is still called", served)
	}
	const want = "parigot: ticker: replica echo#1 (machine 7f3a9c21…) was built from other protos for test.Echo than this process: build every machine from the same sources; during a rolling upgrade, upgrade services before their callers\n"
	if s := said.String(); s != want {
		t.Errorf("said:\n%s\nwant once:\n%s", s, want)
	}
}
