package state

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/internal/abi"
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
// no new one beside it is said too, and so is one beside a new one that
// starts with the messages published from now; one that took all, with
// nothing to deliver again beside it, is not.
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
		Topics: []TopicSpec{{Name: "transfers", Subscribers: []string{"auditor"}}, {Name: "mail", Subscribers: []string{"mailman"}, StartNew: []string{"mailman"}}},
		Log:    func(s string) { said = append(said, s) }})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	want := []string{
		"topic transfers holds the subscription of service audit, which parigot.hcl no longer declares (it took the topic up to message 6; 2 messages not taken), " +
			"and this run starts the subscription of auditor, which is delivered every message the topic keeps (8), from its first, those audit took included. " +
			"If auditor is audit renamed, its method handles them again (a subscribe block with start = \"new\" starts a new subscription with the messages published after it: docs/STATE.md#changing-what-the-data-holds); once nothing waits for audit, parigot state drop subscription transfers audit removes the old one",
		"topic mail holds the subscription of service mailer, which parigot.hcl no longer declares (it took the topic up to message 1; 1 message not taken), " +
			"and this run starts the subscription of mailman with the messages published from now (start = \"new\"): what mailer did not take (1 message) is delivered to none; parigot state drop subscription mail mailer removes the old one",
	}
	slices.Sort(said)
	slices.Sort(want)
	if !slices.Equal(said, want) {
		t.Errorf("said:\n%q\nwant:\n%q", said, want)
	}
}

// A subscription with start = "new" is delivered only the messages
// published after the run made it; one with the default start, every
// message the topic keeps. Once made, a subscription goes on where it
// stands whatever its start says later (JetStream keeps a consumer's
// deliver policy for life: changing it must not fail the run).
func TestASubscriptionStartsWhereItsStartSays(t *testing.T) {
	e := openTest(t, "", true)
	w := newWaiter()
	topic := e.Endpoint(abi.OpenTopic, "transfers")
	publish := func(id uint64, m string) {
		t.Helper()
		if ev := w.do(t, topic, id, abi.OpPublish, abi.StateRequest{Value: []byte(m)}); ev.Code != abi.CodeOK {
			t.Fatal(abi.ErrorMessage(ev.Payload))
		}
	}
	next := func(svc *service) string {
		t.Helper()
		select {
		case got := <-svc.done:
			return got
		case <-time.After(time.Minute):
			t.Fatal("no message was delivered")
			return ""
		}
	}
	publish(1, "before")
	fromNow := &service{seen: map[string]int{}, done: make(chan string, 10)}
	stop, err := e.Subscribe(t.Context(), "auditor", Subscription{Topic: "transfers", Method: "a.B/C", Start: manifest.StartNew}, fromNow)
	if err != nil {
		t.Fatal(err)
	}
	all := &service{seen: map[string]int{}, done: make(chan string, 10)}
	if _, err := e.Subscribe(t.Context(), "audit", Subscription{Topic: "transfers", Method: "a.B/C"}, all); err != nil {
		t.Fatal(err)
	}
	publish(2, "after")
	if got := next(fromNow); got != "after" {
		t.Errorf("start = new: delivered %q first, want after (before was published before the subscription)", got)
	}
	if got := []string{next(all), next(all)}; !slices.Contains(got, "before") || !slices.Contains(got, "after") {
		t.Errorf("start = first: delivered %q, want before and after", got)
	}

	stop()
	if _, err := e.Subscribe(t.Context(), "auditor", Subscription{Topic: "transfers", Method: "a.B/C"}, fromNow); err != nil {
		t.Errorf("subscribing again with another start: %v, want the subscription going on where it stands", err)
	}
	publish(3, "later")
	if got := next(fromNow); got != "later" {
		t.Errorf("after subscribing again: delivered %q, want later", got)
	}
	fromNow.mu.Lock()
	defer fromNow.mu.Unlock()
	if n := fromNow.seen["before"]; n != 0 {
		t.Errorf("start = new: the message published before the subscription was delivered %d times, want none", n)
	}
}
