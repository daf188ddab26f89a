package state

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"parigot.dev/parigot/runtime/internal/abi"
)

// A message dead-lettered a second time, as one whose end of deliveries
// was lost when its process stopped comes back past its attempts in the
// next run, leaves one dead letter, not two: the first, with its own
// attempts and error.
func TestAMessageDeadLetteredAgainLeavesOneDeadLetter(t *testing.T) {
	e := openTest(t, "", true)
	w := newWaiter()
	req := abi.StateRequest{Value: []byte("poison")}
	e.Endpoint(abi.OpenTopic, "transfers").Deliver(abi.Event{Kind: abi.KindCall, CallID: 1, Method: abi.OpPublish,
		Payload: req.Encode(nil), Deadline: time.Now().Add(time.Minute).UnixNano()}, w)
	if ev := w.wait(t, 1); ev.Code != abi.CodeOK {
		t.Fatalf("publishing: %s", abi.ErrorMessage(ev.Payload))
	}
	// The message as a subscription's consumer is handed it.
	cons, err := e.js.CreateOrUpdateConsumer(t.Context(), Stream("test", "transfers"), jetstream.ConsumerConfig{
		Durable: "audit", FilterSubject: TopicSubject("test", "transfers"), AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	msg := <-batch.Messages()
	if msg == nil {
		t.Fatal("the consumer was handed no message")
	}
	meta, err := msg.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	s := &subscriber{e: e, guest: "audit", sub: Subscription{Topic: "transfers", Method: "a.B/C", MaxAttempts: 3}, target: w}
	s.deadLetter(&delivery{msg: msg, attempts: 3, seq: meta.Sequence.Stream}, "unavailable: service audit panicked")
	s.deadLetter(&delivery{msg: msg, attempts: 4, seq: meta.Sequence.Stream}, "its last attempt ended without an answer")

	in, err := NewInspector(e.nc, "test")
	if err != nil {
		t.Fatal(err)
	}
	dead, err := in.DeadLetters(t.Context(), "transfers")
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Attempts != 3 || dead[0].Error != "unavailable: service audit panicked" {
		t.Fatalf("dead letters %+v, want the first one only (3 attempts, the panic)", dead)
	}
}
