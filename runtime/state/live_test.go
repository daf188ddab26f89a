package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A live server says how to reach it in its data directory, readable by
// its user alone, for as long as it runs. Another process refused the
// directory reads that, and joins as parigot state: it reads the stores
// and topics and redelivers, and may do nothing else; a client without
// the key is refused.
func TestALiveServerLetsParigotStateInAndNoMore(t *testing.T) {
	dir := t.TempDir()
	stores, topics := []StoreSpec{{Name: "accounts"}}, []TopicSpec{{Name: "transfers"}}
	srv, err := StartServer(ServerOptions{Dir: dir, Live: &LiveOptions{App: "test", Stores: stores, Topics: topics}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	own, err := srv.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	e, err := Open(ctx, own, Options{App: "test", Stores: stores, Topics: topics, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	kv, err := e.JetStream().KeyValue(ctx, Bucket("test", "accounts"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "acct.alice", []byte("90")); err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(dir, liveFile)
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the live file: %v, %v; want it, readable by its user alone (0600)", fi, err)
	}
	_, _, err = JetStreamDir(dir, false)
	var inUse *InUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("a second hold: %v, want an InUseError", err)
	}
	live, err := ReadLive(inUse)
	if err != nil || live.PID != os.Getpid() {
		t.Fatalf("ReadLive: %+v, %v; want this process's", live, err)
	}
	nc, err := live.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	in, err := NewInspector(nc, "test")
	if err != nil {
		t.Fatal(err)
	}
	if keys, err := in.Keys(ctx, "accounts", ""); err != nil || !slices.Equal(keys, []string{"acct.alice"}) {
		t.Errorf("Keys through the live server: %q, %v", keys, err)
	}
	if v, err := in.Get(ctx, "accounts", "acct.alice"); err != nil || string(v.Value) != "90" {
		t.Errorf("Get through the live server: %+v, %v", v, err)
	}
	dead := DeadLetter{Seq: 1, Topic: "transfers", Data: []byte("t1")}
	m := &nats.Msg{Subject: DeadSubject("test", "transfers"), Data: dead.Data, Header: nats.Header{}}
	m.Header.Set(HeaderDeadGuest, "audit")
	if _, err := e.JetStream().PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got, err := in.DeadLetters(ctx, "transfers"); err != nil || len(got) != 1 || got[0].Subscriber != "audit" {
		t.Fatalf("DeadLetters through the live server: %+v, %v", got, err)
	}
	if r, err := in.Redeliver(ctx, dead); err != nil || r.NotRemoved != nil {
		t.Errorf("Redeliver through the live server: %+v, %v", r, err)
	}

	// Nothing else: no write to a store, no stream removed.
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	defer cancelShort()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(short, "$KV."+Bucket("test", "accounts")+".acct.alice", []byte("0")); err == nil {
		t.Error("parigot state's user wrote to a store")
	}
	if err := js.DeleteStream(short, Stream("test", "transfers")); err == nil {
		t.Error("parigot state's user removed a topic's stream")
	}
	if v, err := kv.Get(ctx, "acct.alice"); err != nil || string(v.Value()) != "90" {
		t.Errorf("acct.alice after parigot state's user tried to write it: %v, %v", v, err)
	}
	if _, err := e.JetStream().Stream(ctx, Stream("test", "transfers")); err != nil {
		t.Errorf("the topic's stream after parigot state's user tried to remove it: %v", err)
	}
	if nc, err := nats.Connect(live.URL, nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Error("a client without a key joined the live server")
	}

	srv.Shutdown()
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the live file after the server stopped: %v, want it gone", err)
	}
}

// The live file of a killed run is not trusted: whoever holds the
// directory next removes it as it takes the lock, and a file that the
// holder did not write is no way to reach it.
func TestTheLiveFileOfAKilledRunIsNotTrusted(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, liveFile)
	stale := `{"pid": 999999999, "url": "nats://127.0.0.1:1", "seed": "SUAKILLEDRUN"}`
	if err := os.WriteFile(file, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	_, release, err := JetStreamDir(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the killed run's live file after the directory was taken: %v, want it removed", err)
	}
	// Written before the new holder removed it (a reader between the two).
	if err := os.WriteFile(file, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = JetStreamDir(dir, false)
	var inUse *InUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("a second hold: %v, want an InUseError", err)
	}
	_, err = ReadLive(inUse)
	var notLive *NotLiveError
	want := "the data directory " + dir + " is in use by another parigot run (process " + strconv.Itoa(os.Getpid()) + "), which says no way to reach its JetStream server"
	if !errors.As(err, &notLive) || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("ReadLive of a killed run's file: %v, want a NotLiveError saying %q", err, want)
	}
	release()
}
