package host

import (
	"bytes"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/state"
)

// testState starts an embedded JetStream server in memory with the stores
// given and the topic "news", for the test's length.
func testState(t *testing.T, stores ...string) *state.Engine {
	t.Helper()
	srv, err := state.StartServer(state.ServerOptions{Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := srv.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	var specs []state.StoreSpec
	for _, s := range stores {
		specs = append(specs, state.StoreSpec{Name: s})
	}
	e, err := state.Open(t.Context(), nc, state.Options{App: "test", Stores: specs, Topics: []state.TopicSpec{{Name: "news"}}, Memory: true, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func TestAGuestUsesTheStoresAndTopicsItsUsesListsAndNoOthers(t *testing.T) {
	wasmFile := wasm(t, "stateful")
	e := testState(t, "kv", "secret")

	var out bytes.Buffer
	spec := &GuestSpec{Name: "stateful", Kind: Program, Wasm: wasmFile, Uses: []string{"store.kv", "topic.news"}}
	res, err := Run(t.Context(), Config{Guests: []*GuestSpec{spec}, Stdout: &out, Stderr: &out, State: e})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run: %v, exit %d\n%s", err, res.ExitCode, out.String())
	}
	assertLines(t, out.String(), []string{
		"stateful | open secret: permission denied",
		"stateful | open nothere: not found",
		"stateful | get: v1 at the put's revision: true",
		"stateful | stale update: aborted",
		"stateful | create over a value: already exists",
		"stateful | bad key: invalid argument",
		"stateful | keys: [k]",
		"stateful | get after delete: not found",
		"stateful | published at: 1",
	})
}

func TestASubscriberThatCrashesMidMessageGetsItAgainAfterItsRestart(t *testing.T) {
	wasmFile := wasm(t, "flaky")
	e := testState(t, "kv")

	uses := []string{"store.kv", "topic.news"}
	sub := &GuestSpec{Name: "sub", Kind: Service, Wasm: wasmFile, Implements: []string{"test.Sub"}, MethodTimeout: 10 * time.Second,
		Restart: RestartOnFailure, Uses: uses, Env: []string{"FLAKY=sub"},
		Subscriptions: []state.Subscription{{Topic: "news", Method: "test.Sub/Take", MaxAttempts: 3}}}
	prog := &GuestSpec{Name: "pub", Kind: Program, Wasm: wasmFile, Uses: uses}
	var out bytes.Buffer
	res, err := Run(t.Context(), Config{Guests: []*GuestSpec{sub, prog}, Stdout: &out, Stderr: &out, State: e})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run: %v, exit %d\n%s", err, res.ExitCode, out.String())
	}
	if len(res.Failures) != 1 || res.Failures[0].Guest != "sub" || res.Failures[0].Cause != CausePanicked {
		t.Errorf("failures %v, want the one panic of sub", res.Failures)
	}
	assertLines(t, out.String(), []string{"pub | kept: m1"})
}
