package state

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// traces is a subscribed service that notes the trace context each
// message's call carries, by the message.
type traces struct{ got chan abi.Event }

func (s *traces) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	go func() {
		from.Deliver(abi.Event{Kind: abi.KindReply, CallID: ev.CallID}, nil)
		s.got <- ev
	}()
	return route.Accepted
}
func (s *traces) GuestName() string            { return "audit" }
func (s *traces) MethodTimeout() time.Duration { return time.Second }

// A message published on behalf of a traced call carries its span to the
// delivery's call, which the host makes that span's child; one published
// untraced carries none. Anyone allowed on the topic's subject may write
// the header too (another client of a shared NATS cluster): what is not a
// W3C traceparent is ignored, and its delivery is untraced.
func TestAMessageCarriesTheTraceOfTheCallThatPublishedIt(t *testing.T) {
	e := openTest(t, "", true)
	svc := &traces{got: make(chan abi.Event, 16)}
	if _, err := e.Subscribe(t.Context(), "audit", Subscription{Topic: "transfers", Method: "a.B/C", MaxAttempts: 1}, svc); err != nil {
		t.Fatal(err)
	}
	publisher := abi.TraceContext{TraceID: [16]byte{0x4b, 0xf9, 15: 0x36}, SpanID: [8]byte{0x00, 0xf0, 7: 0xb7}, Flags: 1}
	w := newWaiter()
	topic := e.Endpoint(abi.OpenTopic, "transfers")
	for id, c := range []struct {
		msg   string
		trace abi.TraceContext
	}{{"traced", publisher}, {"untraced", abi.TraceContext{}}} {
		req := abi.StateRequest{Value: []byte(c.msg)}
		ev := abi.Event{Kind: abi.KindCall, CallID: uint64(id + 1), Method: abi.OpPublish, Trace: c.trace,
			Payload: req.Encode(nil), Deadline: time.Now().Add(time.Minute).UnixNano()}
		topic.Deliver(ev, w)
	}
	for id := range uint64(2) {
		if ev := w.wait(t, id+1); ev.Code != abi.CodeOK {
			t.Fatalf("publishing: %s", abi.ErrorMessage(ev.Payload))
		}
	}
	forged := map[string]string{
		"not a traceparent":    "hello",
		"uppercase hex":        "00-4BF90000000000000000000000000036-00f00000000000b7-01",
		"an unknown version":   "01-4bf90000000000000000000000000036-00f00000000000b7-01",
		"a zero trace id":      "00-00000000000000000000000000000000-00f00000000000b7-01",
		"a zero span id":       "00-4bf90000000000000000000000000036-0000000000000000-01",
		"too long":             "00-4bf90000000000000000000000000036-00f00000000000b7-01-extra",
		"an empty traceparent": "",
	}
	for msg, tp := range forged {
		m := &nats.Msg{Subject: TopicSubject("test", "transfers"), Data: []byte(msg), Header: nats.Header{}}
		m.Header.Set(abi.TraceparentHeader, tp)
		if _, err := e.JetStream().PublishMsg(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]abi.TraceContext{"traced": publisher, "untraced": {}}
	for msg := range forged {
		want[msg] = abi.TraceContext{}
	}
	for range want {
		select {
		case ev := <-svc.got:
			msg := string(ev.Payload)
			if w, ok := want[msg]; !ok || ev.Trace != w {
				t.Errorf("the delivery of %q carries trace %v, want %v", msg, ev.Trace, w)
			}
		case <-time.After(time.Minute):
			t.Fatal("not every message was delivered")
		}
	}
}

// refusesFirst is a subscribed service that fails the first delivery it
// is handed and takes the others, noting each one's call.
type refusesFirst struct {
	refused atomic.Bool
	got     chan abi.Event
}

func (s *refusesFirst) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	if !s.refused.Swap(true) {
		from.Deliver(abi.ErrorEvent(ev.CallID, abi.CodeInternal, "refused, as told"), nil)
		return route.Accepted
	}
	from.Deliver(abi.Event{Kind: abi.KindReply, CallID: ev.CallID}, nil)
	s.got <- ev
	return route.Accepted
}
func (s *refusesFirst) GuestName() string            { return "audit" }
func (s *refusesFirst) MethodTimeout() time.Duration { return time.Second }

// A dead letter keeps the span that published its message, and a
// redelivery hands it on: the delivery of the message published again is
// in the trace of the call that first published it, as its attempts were.
func TestARedeliveredMessageKeepsTheTraceOfTheCallThatPublishedIt(t *testing.T) {
	e := openTest(t, "", true)
	svc := &refusesFirst{got: make(chan abi.Event, 4)}
	if _, err := e.Subscribe(t.Context(), "audit", Subscription{Topic: "transfers", Method: "a.B/C", MaxAttempts: 1}, svc); err != nil {
		t.Fatal(err)
	}
	publisher := abi.TraceContext{TraceID: [16]byte{0x4b, 0xf9, 15: 0x36}, SpanID: [8]byte{0x00, 0xf0, 7: 0xb7}, Flags: 1}
	w := newWaiter()
	req := abi.StateRequest{Value: []byte("t1")}
	e.Endpoint(abi.OpenTopic, "transfers").Deliver(abi.Event{Kind: abi.KindCall, CallID: 1, Method: abi.OpPublish, Trace: publisher,
		Payload: req.Encode(nil), Deadline: time.Now().Add(time.Minute).UnixNano()}, w)
	if ev := w.wait(t, 1); ev.Code != abi.CodeOK {
		t.Fatalf("publishing: %s", abi.ErrorMessage(ev.Payload))
	}
	in, err := NewInspector(e.nc, "test")
	if err != nil {
		t.Fatal(err)
	}
	var dead []DeadLetter
	deadline := time.Now().Add(time.Minute)
	for len(dead) == 0 && time.Now().Before(deadline) {
		if dead, err = in.DeadLetters(t.Context(), "transfers"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(dead) != 1 {
		t.Fatalf("dead letters: %+v, want the message's one", dead)
	}
	if want := "4bf90000000000000000000000000036"; dead[0].Trace != want {
		t.Errorf("the dead letter's trace is %q, want %s, the publisher's", dead[0].Trace, want)
	}
	if _, err := in.Redeliver(t.Context(), dead[0]); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-svc.got:
		if string(ev.Payload) != "t1" || ev.Trace != publisher {
			t.Errorf("the redelivery of %q carries trace %v, want %v, the span that first published it", ev.Payload, ev.Trace, publisher)
		}
	case <-time.After(time.Minute):
		t.Fatal("the message published again was not delivered")
	}
}
