package host

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"parigot.dev/parigot/internal/syncbuf"
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

// A subscriber down for good is handed no more messages in this run:
// they wait for the next run, or another process serving it, rather than
// be delivered again and again to a service that is not there (each
// delivery counts on the server, and so as an attempt in the next run).
func TestTheMessagesOfASubscriberDownForGoodWaitForTheNextRun(t *testing.T) {
	wasmFile := wasm(t, "flaky")
	e := testState(t, "kv")
	uses := []string{"store.kv", "topic.news"}
	sub := &GuestSpec{Name: "sub", Kind: Service, Wasm: wasmFile, Implements: []string{"test.Sub"}, MethodTimeout: 10 * time.Second,
		Restart: RestartNever, Uses: uses, Env: []string{"FLAKY=sub"},
		Subscriptions: []state.Subscription{{Topic: "news", Method: "test.Sub/Take", MaxAttempts: 3}}}
	prog := &GuestSpec{Name: "pub", Kind: Program, Wasm: wasmFile, Uses: uses}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out syncbuf.Buffer
	ran := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Config{Guests: []*GuestSpec{sub, prog}, Stdout: &out, Stderr: &out, State: e})
		ran <- err
	}()
	for !strings.Contains(out.String(), "it is down for the rest of the run") {
		select {
		case err := <-ran:
			t.Fatalf("the run ended (%v) before sub was down:\n%s", err, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	// The message would have come back within 0.1s, then 0.2s, 0.4s...
	time.Sleep(1500 * time.Millisecond)
	cons, err := e.JetStream().Consumer(t.Context(), state.Stream("test", "news"), "sub")
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Delivered.Consumer != 1 || info.NumAckPending+int(info.NumPending) != 1 {
		t.Errorf("m1 was delivered %d times (the one that panicked sub was all), and %d+%d messages wait; want 1 delivery and m1 waiting\n%s",
			info.Delivered.Consumer, info.NumAckPending, info.NumPending, out.String())
	}
	cancel()
	<-ran
}
