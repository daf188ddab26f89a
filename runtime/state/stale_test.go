package state

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// takeAll has durable of topic (of app bank) take the first n messages
// of the topic, as a subscription of service durable does.
func takeAll(ctx context.Context, t *testing.T, js jetstream.JetStream, topic, durable string, n int) {
	t.Helper()
	c, err := js.CreateOrUpdateConsumer(ctx, Stream("bank", topic), jetstream.ConsumerConfig{Durable: durable,
		FilterSubject: TopicSubject("bank", topic), AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		return
	}
	batch, err := c.Fetch(n, jetstream.FetchMaxWait(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// A subscribing service renamed in parigot.hcl (audit to auditor) leaves
// its subscription behind, and the run starts one for the new name, which
// JetStream delivers every message the topic keeps: the run says so as it
// starts, naming both, how far the old one took the topic, and how many
// the new one is delivered. A stale subscription with messages waiting and
// no new one beside it is said too; one that took all, with nothing new
// beside it, is not.
func TestARunSaysASubscriptionOfAServiceNoLongerSubscribing(t *testing.T) {
	nc := memoryConn(t)
	ctx := t.Context()
	v1, err := Open(ctx, nc, Options{App: "bank", Memory: true, Create: true,
		Topics: []TopicSpec{{Name: "transfers", Subscribers: []string{"audit"}}, {Name: "mail", Subscribers: []string{"mailer", "notify"}}}})
	if err != nil {
		t.Fatal(err)
	}
	js := v1.JetStream()
	for range 8 {
		if _, err := js.Publish(ctx, TopicSubject("bank", "transfers"), []byte("t")); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := js.Publish(ctx, TopicSubject("bank", "mail"), []byte("m")); err != nil {
			t.Fatal(err)
		}
	}
	takeAll(ctx, t, js, "transfers", "audit", 6)
	takeAll(ctx, t, js, "mail", "mailer", 1)
	takeAll(ctx, t, js, "mail", "notify", 2)
	v1.Close()

	var said []string
	v2, err := Open(ctx, nc, Options{App: "bank", Memory: true, Create: true,
		Topics: []TopicSpec{{Name: "transfers", Subscribers: []string{"auditor"}}, {Name: "mail"}},
		Log:    func(s string) { said = append(said, s) }})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	want := []string{
		"topic transfers holds the subscription of service audit, which parigot.hcl no longer declares (it took the topic up to message 6; 2 messages not taken), " +
			"and this run starts the subscription of auditor, which is delivered every message the topic keeps (8), from its first, those audit took included. " +
			"If auditor is audit renamed, its method handles them again (docs/STATE.md#changing-what-the-data-holds); once nothing waits for audit, parigot state drop subscription transfers audit removes the old one",
		"topic mail holds the subscription of service mailer, which parigot.hcl no longer declares (it took the topic up to message 1; 1 message not taken): no run delivers them; parigot state drop subscription mail mailer removes it",
	}
	slices.Sort(said)
	slices.Sort(want)
	if !slices.Equal(said, want) {
		t.Errorf("said:\n%q\nwant:\n%q", said, want)
	}
}
