package state

import (
	"slices"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// A store or topic renamed in parigot.hcl leaves the old one's data
// behind, unread and undelivered: the run that opens the new names says
// so, naming what is left and how much of it, and says nothing of an
// empty one, or of one another app declares.
func TestARunSaysWhatTheDataHoldsOfStoresAndTopicsNoLongerDeclared(t *testing.T) {
	nc := memoryConn(t)
	ctx := t.Context()

	v1, err := Open(ctx, nc, Options{App: "bank", Memory: true, Create: true,
		Stores: []StoreSpec{{Name: "accounts"}, {Name: "audit"}, {Name: "empty"}},
		Topics: []TopicSpec{{Name: "transfers"}, {Name: "taken"}}})
	if err != nil {
		t.Fatal(err)
	}
	js := v1.JetStream()
	kv, err := js.KeyValue(ctx, Bucket("bank", "audit"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"transfer.1", "transfer.2"} {
		if _, err := kv.Put(ctx, k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	for _, topic := range []string{"transfers", "transfers", "transfers", "taken"} {
		if _, err := js.Publish(ctx, TopicSubject("bank", topic), []byte("t")); err != nil {
			t.Fatal(err)
		}
	}
	// audit subscribed to transfers and took none of its 3 messages; the
	// messages of taken were all acknowledged.
	for topic, policy := range map[string]jetstream.DeliverPolicy{"transfers": jetstream.DeliverAllPolicy, "taken": jetstream.DeliverNewPolicy} {
		if _, err := js.CreateOrUpdateConsumer(ctx, Stream("bank", topic), jetstream.ConsumerConfig{Durable: "audit", AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: policy}); err != nil {
			t.Fatal(err)
		}
	}
	other, err := Open(ctx, nc, Options{App: "bankx", Memory: true, Create: true, Stores: []StoreSpec{{Name: "audit"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.JetStream().Publish(ctx, "$KV."+Bucket("bankx", "audit")+".k", []byte("x")); err != nil {
		t.Fatal(err)
	}
	v1.Close()
	other.Close()

	var said []string
	v2, err := Open(ctx, nc, Options{App: "bank", Memory: true, Create: true,
		Stores: []StoreSpec{{Name: "accounts"}, {Name: "ledger"}},
		Topics: []TopicSpec{{Name: "payments"}},
		Log:    func(s string) { said = append(said, s) }})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	want := []string{
		"the data holds store audit (2 keys), which parigot.hcl no longer declares: this run leaves it as it is and reads none of it. " +
			"To keep its values under a new name, declare it again beside the new one and copy them over (docs/STATE.md#changing-what-the-data-holds); to let them go, parigot state drop store audit",
		"the data holds topic taken (1 message, none waiting for a subscriber), which parigot.hcl no longer declares: this run leaves it as it is; parigot state drop topic taken removes it",
		"the data holds topic transfers (3 messages, 3 not yet taken by audit), which parigot.hcl no longer declares: this run leaves it as it is and delivers none of them. " +
			"To have them delivered, declare it again, with its subscriptions, until they are taken (docs/STATE.md#changing-what-the-data-holds); to let them go, parigot state drop topic transfers",
	}
	if !slices.Equal(said, want) {
		t.Errorf("said:\n%q\nwant:\n%q", said, want)
	}

	// A split-mode child opens only what its guest uses: the supervisor
	// has said it already.
	said = nil
	child, err := Open(ctx, nc, Options{App: "bank", Stores: []StoreSpec{{Name: "accounts"}}, Memory: true, Create: true, Uses: []string{"store.accounts"},
		Log: func(s string) { said = append(said, s) }})
	if err != nil {
		t.Fatal(err)
	}
	child.Close()
	if len(said) != 0 {
		t.Errorf("a child's Open said %q, want nothing", said)
	}
}
