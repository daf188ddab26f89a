package state

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// refuser is a subscriber's service that fails every message.
type refuser struct{}

func (refuser) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	if ev.Kind == abi.KindCall && from != nil {
		from.Deliver(abi.ErrorEvent(ev.CallID, abi.CodeInternal, "refused, as told"), nil)
	}
	return route.Accepted
}
func (refuser) GuestName() string            { return "refuser" }
func (refuser) MethodTimeout() time.Duration { return time.Second }

func TestAnInspectorReadsKeysAndValuesOfAStore(t *testing.T) {
	e := openTest(t, "", true)
	ctx := t.Context()
	kv, err := e.JetStream().KeyValue(ctx, Bucket("test", "accounts"))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"acct.alice": "90", "acct.bob": "110", "runs": "3", "gone": "x"} {
		if _, err := kv.Put(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := kv.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	in, err := NewInspector(e.nc, "test")
	if err != nil {
		t.Fatal(err)
	}
	if keys, err := in.Keys(ctx, "accounts", ""); err != nil || !slices.Equal(keys, []string{"acct.alice", "acct.bob", "runs"}) {
		t.Errorf("all keys: %q, %v", keys, err)
	}
	if keys, err := in.Keys(ctx, "accounts", "acct.*"); err != nil || !slices.Equal(keys, []string{"acct.alice", "acct.bob"}) {
		t.Errorf("keys acct.*: %q, %v", keys, err)
	}
	if _, err := in.Keys(ctx, "accounts", "acct..x"); err == nil {
		t.Errorf("a malformed filter was taken")
	}
	got, err := in.Get(ctx, "accounts", "acct.bob")
	if err != nil || string(got.Value) != "110" || got.Revision == 0 || got.Written.IsZero() {
		t.Errorf("Get acct.bob: %+v, %v", got, err)
	}
	var none *NoValueError
	if _, err := in.Get(ctx, "accounts", "gone"); !errors.As(err, &none) {
		t.Errorf("Get of a deleted key: %v, want a NoValueError", err)
	}
	var notMade *NotMadeError
	if _, err := in.Keys(ctx, "other", ""); !errors.As(err, &notMade) || notMade.Resource != Bucket("test", "other") {
		t.Errorf("Keys of a store never made: %v, want a NotMadeError", err)
	}
}

// Two subscribers fail one message: it is two dead letters, which
// Redeliver publishes again once, and removes both.
func TestRedeliverPublishesAMessageOnceAndRemovesItsDeadLetters(t *testing.T) {
	e := openTest(t, "", true)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for _, guest := range []string{"audit", "mail"} {
		if _, err := e.Subscribe(ctx, guest, Subscription{Topic: "transfers", Method: "x.Y/Z", MaxAttempts: 1}, refuser{}); err != nil {
			t.Fatal(err)
		}
	}
	js := e.JetStream()
	if _, err := js.Publish(ctx, TopicSubject("test", "transfers"), []byte("t1")); err != nil {
		t.Fatal(err)
	}
	in, err := NewInspector(e.nc, "test")
	if err != nil {
		t.Fatal(err)
	}
	var dead []DeadLetter
	for len(dead) < 2 {
		if dead, err = in.DeadLetters(ctx, "transfers"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("dead letters: %+v", dead)
		case <-time.After(10 * time.Millisecond):
		}
	}
	// The subscriptions would fail it again: gone, their consumers too.
	e.StopSubscriptions()
	for _, guest := range []string{"audit", "mail"} {
		if err := js.DeleteConsumer(ctx, Stream("test", "transfers"), guest); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range dead {
		if d.Message != 1 || d.Attempts != 1 || d.Error != "internal: refused, as told" || string(d.Data) != "t1" || d.Time.IsZero() || d.Topic != "transfers" {
			t.Errorf("dead letter %+v", d)
		}
	}
	if subs := []string{dead[0].Subscriber, dead[1].Subscriber}; !slices.Contains(subs, "audit") || !slices.Contains(subs, "mail") {
		t.Errorf("the dead letters' subscribers: %q", subs)
	}
	first, err := in.Redeliver(ctx, dead[0])
	if err != nil || first.Duplicate || first.NotRemoved != nil || first.Message <= dead[1].Seq {
		t.Fatalf("first redelivery: %+v, %v", first, err)
	}
	second, err := in.Redeliver(ctx, dead[1])
	if err != nil || !second.Duplicate || second.Message != first.Message || second.NotRemoved != nil {
		t.Fatalf("second redelivery, of the same message: %+v, %v", second, err)
	}
	if left, err := in.DeadLetters(ctx, "transfers"); err != nil || len(left) != 0 {
		t.Errorf("dead letters after redelivery: %+v, %v", left, err)
	}
	stream, err := js.Stream(ctx, Stream("test", "transfers"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := stream.GetMsg(ctx, first.Message)
	if err != nil || m.Subject != TopicSubject("test", "transfers") || string(m.Data) != "t1" || m.Header.Get(HeaderDeadError) != "" {
		t.Errorf("the message published again: %+v, %v", m, err)
	}
	if _, err := stream.GetMsg(ctx, first.Message+1); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Errorf("something after the message published again: %v", err)
	}
}

func TestADataDirectoryHeldSaysByWhom(t *testing.T) {
	dir := t.TempDir()
	_, release, err := JetStreamDir(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	_, _, err = JetStreamDir(dir, false)
	var inUse *InUseError
	if !errors.As(err, &inUse) || inUse.PID != os.Getpid() || inUse.Dir != dir {
		t.Fatalf("a second hold: %v, want an InUseError naming process %d", err, os.Getpid())
	}
}
