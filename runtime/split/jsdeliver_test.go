package split

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/runtime/internal/abi"
)

// A message JetStream delivers into a service's call subject, through a
// push consumer whose deliver subject and group name the service's (which
// any guest allowed to create consumers on a store's stream could make),
// is no call: no caller of the app sent it, and the service must not run
// it. Calls carry a reply subject of the app's callers; JetStream's
// deliveries carry its acknowledgement subject.
func TestAMessageJetStreamDeliversToACallSubjectIsNoCall(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(patience) {
		t.Fatal("the NATS server did not start")
	}
	nc, err := Conn{URL: ns.ClientURL()}.Connect("test", "echo")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	f := &fakeService{name: "echo", got: make(chan abi.Event, 16)}
	serveOn(t, NewNetwork(nc, "test", identityGuests(), "echo"), f)

	// The forger: a stream of its own, a message shaped as a call, and
	// push consumers delivering it into echo's queue group.
	js, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(js.Close)
	jsc, _ := js.JetStream()
	if _, err := jsc.AddStream(&nats.StreamConfig{Name: "FORGED", Subjects: []string{"forged.>"}}); err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg("forged.call")
	m.Header.Set(headerMethod, "test.Echo/Echo")
	m.Data = []byte("forged")
	if _, err := jsc.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	for i, ack := range []nats.AckPolicy{nats.AckNonePolicy, nats.AckExplicitPolicy} {
		if _, err := jsc.AddConsumer("FORGED", &nats.ConsumerConfig{
			Durable: "c" + string(rune('0'+i)), DeliverSubject: (subjects{"test"}).call("test.Echo"), DeliverGroup: "echo",
			AckPolicy: ack, DeliverPolicy: nats.DeliverAllPolicy,
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Once JetStream has delivered both, a real call on the same
	// subscription, which takes messages in order: once it is served, the
	// forged ones were taken before it.
	for deadline := time.Now().Add(patience); ; time.Sleep(10 * time.Millisecond) {
		c0, err0 := jsc.ConsumerInfo("FORGED", "c0")
		c1, err1 := jsc.ConsumerInfo("FORGED", "c1")
		if err0 == nil && err1 == nil && c0.Delivered.Consumer >= 1 && c1.Delivered.Consumer >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("JetStream did not deliver the forged message")
		}
	}
	cnc, err := Conn{URL: ns.ClientURL()}.Connect("test", "ticker")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cnc.Close)
	caller := NewNetwork(cnc, "test", identityGuests(), "ticker")
	caller.natsOnly = true // through the subscription the forged messages came by
	done := make(replies, 1)
	caller.Service("test.Echo").Deliver(abi.Event{Kind: abi.KindCall, CallID: 1, Method: "test.Echo/Echo", Payload: []byte("real"), Deadline: time.Now().Add(patience).UnixNano()}, done)
	select {
	case ev := <-done:
		if ev.Code != abi.CodeOK {
			t.Fatalf("the real call failed: %v %s", ev.Code, abi.ErrorMessage(ev.Payload))
		}
	case <-time.After(patience):
		t.Fatal("the real call got no reply")
	}
	for {
		select {
		case ev := <-f.got:
			if string(ev.Payload) != "real" {
				t.Errorf("the service ran a message JetStream delivered: %s %q", ev.Method, ev.Payload)
			}
		default:
			return
		}
	}
}
