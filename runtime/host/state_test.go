package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/internal/syncbuf"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/hostlink"
	"parigot.dev/parigot/runtime/state"
)

// testState starts an embedded JetStream server in memory with the stores
// given and the topic "news", for the test's length.
func testState(t *testing.T, stores ...string) *state.Engine {
	t.Helper()
	var specs []state.StoreSpec
	for _, s := range stores {
		specs = append(specs, state.StoreSpec{Name: s})
	}
	return testStateOf(t, specs...)
}

// testStateOf is testState with the stores' specs.
func testStateOf(t *testing.T, specs ...state.StoreSpec) *state.Engine {
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

// A store that declares its values' message takes no other in the guest
// library, which the host tells the type at open: not stored, not read
// into, with the store, both types and what to change in the error.
// Another store, and bytes, are as before.
func TestAStoreThatDeclaresItsValueTypeRefusesMessagesOfAnother(t *testing.T) {
	wasmFile := wasm(t, "stateful")
	e := testStateOf(t, state.StoreSpec{Name: "kv"}, state.StoreSpec{Name: "typed", Value: "google.protobuf.Int64Value"})

	var out bytes.Buffer
	spec := &GuestSpec{Name: "stateful", Kind: Program, Wasm: wasmFile, Uses: []string{"store.kv", "store.typed", "topic.news"}}
	res, err := Run(t.Context(), Config{Guests: []*GuestSpec{spec}, Stdout: &out, Stderr: &out, State: e})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run: %v, exit %d\n%s", err, res.ExitCode, out.String())
	}
	assertLines(t, out.String(), []string{
		"stateful | published at: 1",
		"stateful | put of a StringValue: store.typed/Put: invalid argument: store typed holds google.protobuf.Int64Value values (value in its block of parigot.hcl), not google.protobuf.StringValue: pass a google.protobuf.Int64Value, or, if the store is to hold google.protobuf.StringValue values, change its value line in parigot.hcl",
		"stateful | get into a StringValue: invalid argument",
		"stateful | get into an Int64Value: 7",
		"stateful | put of a StringValue in kv: ok",
		"stateful | put of bytes in typed: ok",
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

// One poison message takes no innocent one down with it, even when the
// innocent one is in flight in the service as the poison crashes it (its
// method waits on store reads): only the message whose call the service
// was running is charged an attempt. The poison is dead-lettered after
// its max_attempts; the innocent one, delivered again each time without
// counting, is processed, and is no dead letter.
func TestAPoisonMessageTakesNoInnocentOneInFlightDownWithIt(t *testing.T) {
	wasmFile := wasm(t, "poison")
	e := testState(t, "kv")
	sub := &GuestSpec{Name: "sink", Kind: Service, Wasm: wasmFile, Implements: []string{"test.Sub"}, MethodTimeout: patience,
		Restart: RestartOnFailure, Uses: []string{"store.kv", "topic.news"},
		Subscriptions: []state.Subscription{{Topic: "news", Method: "test.Sub/Take", MaxAttempts: 3}}}
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	var out syncbuf.Buffer
	ran := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Config{Guests: []*GuestSpec{sub}, Stdout: &out, Stderr: &out, State: e, Backoff: Backoff{Waits: []time.Duration{0}}})
		ran <- err
	}()
	js := e.JetStream()
	for _, m := range []string{"ok1", "poison"} {
		b, err := proto.Marshal(wrapperspb.String(m))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, state.TopicSubject("test", "news"), b); err != nil {
			t.Fatal(err)
		}
	}
	kv, err := js.KeyValue(ctx, state.Bucket("test", "kv"))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, state.Stream("test", "news"))
	if err != nil {
		t.Fatal(err)
	}
	// deadLetters are the topic's dead letters so far, by message.
	deadLetters := func() map[string]*jetstream.RawStreamMsg {
		dead := map[string]*jetstream.RawStreamMsg{}
		for seq := uint64(1); ; seq++ {
			m, err := stream.GetMsg(ctx, seq)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				return dead
			}
			if err != nil {
				t.Fatalf("reading the topic at %d: %v", seq, err)
			}
			if m.Subject != state.DeadSubject("test", "news") {
				continue
			}
			var v wrapperspb.StringValue
			if err := proto.Unmarshal(m.Data, &v); err != nil {
				t.Fatalf("dead letter %q: %v", m.Data, err)
			}
			dead[v.GetValue()] = m
		}
	}
	// Until the poison is dead and ok1 processed or dead too.
	var dead map[string]*jetstream.RawStreamMsg
	done := false
	for {
		dead = deadLetters()
		_, err := kv.Get(ctx, "done.ok1")
		done = err == nil
		if dead["poison"] != nil && (done || dead["ok1"] != nil) {
			break
		}
		select {
		case err := <-ran:
			t.Fatalf("the run ended (%v) before the poison was dead and ok1 settled:\n%s", err, out.String())
		case <-ctx.Done():
			t.Fatalf("the poison is not dead (%v) or ok1 not settled (done: %v) after %s:\n%s", dead["poison"] != nil, done, patience, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if m := dead["ok1"]; m != nil {
		t.Errorf("ok1 was dead-lettered after %s attempts (%s), though it only waited while the poison crashed the service",
			m.Header.Get(state.HeaderDeadAttempts), m.Header.Get(state.HeaderDeadError))
	}
	if !done {
		t.Errorf("ok1 was not processed")
	}
	if m := dead["poison"]; m.Header.Get(state.HeaderDeadAttempts) != "3" || m.Header.Get(state.HeaderDeadError) != "unavailable: service sink panicked: poison, as told" {
		t.Errorf("the poison was dead-lettered after %s attempts with %q, want 3 and its panic",
			m.Header.Get(state.HeaderDeadAttempts), m.Header.Get(state.HeaderDeadError))
	}
	// Said when it happens, once.
	said := regexp.MustCompile(`(?m)^parigot: service sink: message [0-9]+ of topic news dead-lettered after 3 attempts \(unavailable: service sink panicked: poison, as told\); it is kept on the topic's dead letters`)
	if n := len(said.FindAllString(out.String(), -1)); n != 1 {
		t.Errorf("the dead letter was said %d times, want once (%s):\n%s", n, said, out.String())
	}
	// Each crash before the last attempt says which message it was
	// handling, the poison (message 2), right after the line that says
	// the crash, and never the innocent one.
	for attempt := 1; attempt <= 2; attempt++ {
		crash := regexp.MustCompile(fmt.Sprintf(`(?m)^parigot: service sink panicked \(its stack trace is above\); restarting it \(%d of 3\)\nparigot: service sink: message 2 of topic news was being handled when it ended \(attempt %d of 3: unavailable: service sink panicked: poison, as told\); it is delivered again, and dead-lettered if attempt 3 fails too \('parigot state dead news' lists the dead letters\)$`, attempt, attempt))
		if n := len(crash.FindAllString(out.String(), -1)); n != 1 {
			t.Errorf("attempt %d of the poison was said %d times after its crash, want once (%s)", attempt, n, crash)
		}
	}
	if innocent := regexp.MustCompile(`(?m)^parigot: service sink: message 1 of topic news was being handled`); innocent.MatchString(out.String()) {
		t.Errorf("the innocent message 1 was said to be handled when the service ended")
	}
	if t.Failed() {
		t.Logf("output:\n%s", out.String())
	}
	cancel()
	<-ran
}

// A store's open with abi.OpenWithValue fills the open record: the handle
// and the value type, its length alone when the room given is too small,
// an empty name for a store that declares none. Every pointer is checked
// before a handle is given, and topics declare no value.
func TestOpeningAStoreWithItsValueFillsTheRecordTheGuestGives(t *testing.T) {
	ctx := context.Background()
	mem := testMemory(t)
	e := testStateOf(t, state.StoreSpec{Name: "kv"}, state.StoreSpec{Name: "typed", Value: "google.protobuf.Int64Value"})
	a := &run{cfg: Config{State: e}}
	in := newInstance(a, &GuestSpec{Name: "g", Kind: Program, Uses: []string{"store.kv", "store.typed", "topic.news"}})
	const name, rec, buf = 0, 64, 128 // where the name, the record and the value's room lie
	withValue := uint64(abi.OpenStore | abi.OpenWithValue)
	open := func(store string, room uint32) abi.Status {
		mem.Write(name, []byte(store))
		mem.WriteUint32Le(rec+abi.OpenRecordValuePtr, buf)
		mem.WriteUint32Le(rec+abi.OpenRecordValueCap, room)
		mem.Write(buf, make([]byte, 64))
		return hostOpen(ctx, in, mem, []uint64{withValue, name, uint64(len(store)), rec})
	}
	field := func(off uint32) uint32 { v, _ := mem.ReadUint32Le(rec + off); return v }

	if st := open("typed", 64); st != abi.StatusOK {
		t.Fatalf("open typed: %v", st)
	}
	value, _ := mem.Read(buf, field(abi.OpenRecordValueLen))
	if h := field(abi.OpenRecordHandle); h != 1 || string(value) != "google.protobuf.Int64Value" {
		t.Errorf("open typed: handle %d, value %q; want 1, google.protobuf.Int64Value", h, value)
	}
	if st := open("typed", 4); st != abi.StatusBufferTooSmall || field(abi.OpenRecordValueLen) != 26 || field(abi.OpenRecordHandle) != 1 {
		t.Errorf("open typed with room for 4 bytes: %v, length %d, handle %d; want buffer too small, 26, 1", st, field(abi.OpenRecordValueLen), field(abi.OpenRecordHandle))
	}
	if untouched, _ := mem.Read(buf, 4); string(untouched) != "\x00\x00\x00\x00" {
		t.Errorf("open typed with room for 4 bytes wrote %q", untouched)
	}
	if st := open("kv", 64); st != abi.StatusOK || field(abi.OpenRecordValueLen) != 0 || field(abi.OpenRecordHandle) != 2 {
		t.Errorf("open kv: %v, length %d, handle %d; want ok, 0, 2", st, field(abi.OpenRecordValueLen), field(abi.OpenRecordHandle))
	}
	mem.Write(name, []byte("kv"))
	if st := hostOpen(ctx, in, mem, []uint64{withValue, name, 2, uint64(mem.Size() - 8)}); st != abi.StatusBadPointer {
		t.Errorf("a record past the memory's end: %v, want bad pointer", st)
	}
	mem.Write(name, []byte("news"))
	if st := hostOpen(ctx, in, mem, []uint64{uint64(abi.OpenTopic | abi.OpenWithValue), name, 4, rec}); st != abi.StatusBadArgument {
		t.Errorf("a topic's open with its value: %v, want bad argument", st)
	}
	if len(in.handles) != 2 {
		t.Errorf("the guest holds %d handles, want 2 (typed, kv)", len(in.handles))
	}
	// A native guest (parigot run --debug) is answered the value type as
	// the response's data.
	resp := a.answer(ctx, in, hostlink.Request{Op: hostlink.OpOpen, A: withValue, Data: []byte("typed")})
	if resp.Status != abi.StatusOK || resp.Value != 1 || string(resp.Data) != "google.protobuf.Int64Value" {
		t.Errorf("a native guest's open of typed: %+v, want handle 1 and google.protobuf.Int64Value", resp)
	}
}
