package split

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/state"
)

// stateGuests: keeper uses the store "vault"; peeker uses nothing.
func stateGuests() []*host.GuestSpec {
	return []*host.GuestSpec{
		{Name: "keeper", Kind: host.Program, Replicas: 1, Uses: []string{"store.vault", "topic.news"}},
		{Name: "peeker", Kind: host.Program, Replicas: 1},
	}
}

func TestAGuestReachesOnlyTheStoresAndTopicsItUses(t *testing.T) {
	st := &State{Stores: []state.StoreSpec{{Name: "vault"}}, Topics: []state.TopicSpec{{Name: "news"}}, Ephemeral: true}
	srv, err := StartStateServer("test", stateGuests(), st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)

	keeper := connectAs(t, srv, "keeper")
	e, err := state.Open(t.Context(), keeper, state.Options{App: "test", Stores: st.Stores, Topics: st.Topics, Uses: []string{"store.vault", "topic.news"}})
	if err != nil {
		t.Fatalf("keeper opening what it uses: %v", err)
	}
	defer e.Close()
	js := e.JetStream()
	kv, err := js.KeyValue(t.Context(), state.Bucket("test", "vault"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), "k", []byte("v")); err != nil {
		t.Errorf("keeper's Put: %v", err)
	}
	if ent, err := kv.Get(t.Context(), "k"); err != nil || string(ent.Value()) != "v" {
		t.Errorf("keeper's Get: %v", err)
	}
	if _, err := kv.ListKeys(t.Context()); err != nil {
		t.Errorf("keeper's keys: %v", err)
	}
	if _, err := js.Publish(t.Context(), state.TopicSubject("test", "news"), []byte("m")); err != nil {
		t.Errorf("keeper's publication: %v", err)
	}

	peeker := connectAs(t, srv, "peeker")
	// A refused request is never answered: the open ends at its deadline.
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if _, err := state.Open(ctx, peeker, state.Options{App: "test", Stores: st.Stores, Topics: st.Topics, Uses: []string{"store.vault"}}); err == nil {
		t.Error("peeker opened a store it does not use")
	}
	if err := peeker.Publish("$KV."+state.Bucket("test", "vault")+".k", []byte("stolen")); err == nil && !refused(t, peeker) {
		t.Error("the server let peeker write into keeper's store")
	}
	if err := peeker.Publish(state.TopicSubject("test", "news"), []byte("fake")); err == nil && !refused(t, peeker) {
		t.Error("the server let peeker publish on a topic it does not use")
	}
}

// TestStoresAndTopicsOnAServerGivenByURL runs a guest that uses a store and
// a topic in split mode against a JetStream server of its own, as --nats
// with a user shared by the app does: the supervisor makes the buckets and
// streams, the child opens what its guest uses, and its guest is told the
// message type a store declares, and refuses another.
func TestStoresAndTopicsOnAServerGivenByURL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm guests and starts processes")
	}
	dir, err := buildGuests()
	if err != nil {
		t.Fatal(err)
	}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(),
		Username: "app", Password: "secret", NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(patience) {
		t.Fatal("the NATS server did not start")
	}
	t.Cleanup(ns.Shutdown)

	st := &State{Stores: []state.StoreSpec{{Name: "kv"}, {Name: "secret"}, {Name: "typed", Value: "google.protobuf.Int64Value"}}, Topics: []state.TopicSpec{{Name: "news"}}}
	js, _ := json.Marshal(st)
	t.Setenv(envChildState, string(js))
	guests := []*host.GuestSpec{{Name: "stateful", Kind: host.Program, Wasm: filepath.Join(dir, "stateful.wasm"), Replicas: 1,
		Uses: []string{"store.kv", "store.typed", "topic.news"}}}
	res, stdout, stderr, err := superviseWith(t, guests, Options{Conn: Conn{URL: ns.ClientURL(), User: "app", Pass: "secret"}, State: st}, nil)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Supervise: %v, exit %d\nstdout:\n%s\nstderr:\n%s", err, res.ExitCode, stdout, stderr)
	}
	for _, want := range []string{"open secret: permission denied", "stale update: aborted", "keys: [k]", "published at: 1",
		"put of a StringValue: store.typed/Put: invalid argument: store typed holds google.protobuf.Int64Value values", "get into an Int64Value: 7"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}

// A service's user may answer what it receives, and the server keeps each
// reply subject that the user may not publish to already for a minute: a
// listing of a store's keys delivers each key with an ack subject as its
// reply, so a service listing a large store often made the server keep
// hundreds of MB. The service may publish there, so nothing is kept.
func TestAServiceListingItsStoreLeavesTheServerNoRepliesToKeep(t *testing.T) {
	guests := []*host.GuestSpec{{Name: "lister", Kind: host.Service, Implements: []string{"test.Lister"}, MethodTimeout: time.Second,
		Replicas: 1, Uses: []string{"store.vault"}}}
	st := &State{Stores: []state.StoreSpec{{Name: "vault"}}, Ephemeral: true}
	srv, err := StartStateServer("test", guests, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	lister := connectAs(t, srv, "lister")
	e, err := state.Open(t.Context(), lister, state.Options{App: "test", Stores: st.Stores, Uses: []string{"store.vault"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	kv, err := e.JetStream().KeyValue(t.Context(), state.Bucket("test", "vault"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	// A listing's delivery of key k, by a consumer like ListKeys's: pushed
	// to an inbox of the service, headers only, with an ack subject in the
	// bucket's stream as its reply.
	stream := "KV_" + state.Bucket("test", "vault")
	inbox := lister.NewRespInbox()
	deliveries, err := lister.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	create, _ := json.Marshal(map[string]any{"stream_name": stream, "config": map[string]any{
		"deliver_subject": inbox, "filter_subject": "$KV." + state.Bucket("test", "vault") + ".>", "deliver_policy": "last_per_subject", "ack_policy": "none", "headers_only": true,
		"flow_control": true, "idle_heartbeat": int64(5 * time.Second), "mem_storage": true, "inactive_threshold": int64(time.Minute)}})
	resp, err := lister.Request("$JS.API.CONSUMER.CREATE."+stream, create, patience)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(resp.Data), `"error"`) {
		t.Fatalf("creating the listing's consumer: %s", resp.Data)
	}
	msg, err := deliveries.NextMsg(patience)
	if err != nil {
		t.Fatal(err)
	}
	reply := msg.Reply
	if !strings.HasPrefix(reply, "$JS.ACK.") {
		t.Fatalf("the listing's delivery has the reply %q, not an ack subject", reply)
	}
	if err := lister.Publish(reply, nil); err != nil {
		t.Fatal(err)
	}
	if refused(t, lister) {
		t.Errorf("the service may not publish %q, the reply of a listing's delivery of a key of its store, so the server keeps each one it delivers: %v", reply, lister.LastError())
	}
}
