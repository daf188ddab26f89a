package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// topicEndpoint takes the publications of guests to one topic.
type topicEndpoint struct {
	e       *Engine
	name    string
	subject string
}

// GuestName implements route.Endpoint.
func (t *topicEndpoint) GuestName() string { return "topic " + t.name }

// Resource implements route.Resource: a topic is no guest.
func (t *topicEndpoint) Resource() {}

// MethodTimeout implements route.Endpoint.
func (t *topicEndpoint) MethodTimeout() time.Duration { return OpTimeout }

// Deliver implements route.Endpoint: it publishes the message, and replies
// once JetStream has stored it.
func (t *topicEndpoint) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	if ev.Kind != abi.KindCall || from == nil {
		return route.Accepted
	}
	what := "topic " + t.name
	if ev.Method != abi.OpPublish {
		from.Deliver(abi.ErrorEvent(ev.CallID, abi.CodeUnimplemented, what+" has no operation "+ev.Method), nil)
		return route.Accepted
	}
	req, err := abi.DecodeStateRequest(ev.Payload)
	if err != nil {
		from.Deliver(abi.ErrorEvent(ev.CallID, abi.CodeInvalidArgument, what+": malformed request"), nil)
		return route.Accepted
	}
	if err := checkValue(req.Value); err != nil {
		answer(from, ev, nil, err)
		return route.Accepted
	}
	m := &nats.Msg{Subject: t.subject, Data: req.Value, Header: nats.Header{}}
	m.Header.Set(jetstream.ExpectedStreamHeader, Stream(t.e.app, t.name))
	if ev.Trace.Valid() { // tracing on, and the guest publishes on behalf of a traced call
		m.Header.Set(abi.TraceparentHeader, ev.Trace.Traceparent())
	}
	t.e.publishAsync(ev, from, m, nil)
	return route.Accepted
}

// Headers of a dead letter: where it came from and why it died.
const (
	HeaderDeadTopic    = "Parigot-Topic"
	HeaderDeadSequence = "Parigot-Sequence"
	HeaderDeadGuest    = "Parigot-Subscriber"
	HeaderDeadAttempts = "Parigot-Attempts"
	HeaderDeadError    = "Parigot-Error"
)

// maxInFlight bounds the messages of one subscription handed to its
// service and not yet answered: they wait in its inbox one after the
// other, each under its budget, so a long queue would time out its tail.
const maxInFlight = 8

// Subscribe delivers the messages of sub.Topic to sub.Method of target, a
// service of this process named guest, until StopSubscriptions or Close.
// Each message is a call; its reply acknowledges the message, an error or
// no reply within the service's budget has it delivered again after a
// pause, and the failure of its sub.MaxAttempts-th delivery moves it to
// the topic's dead letters (DeadSubject). Several processes serving the
// same guest share its subscription, as replicas share calls. stop stops
// taking messages: those not answered yet go to another process, or to the
// next run.
func (e *Engine) Subscribe(ctx context.Context, guest string, sub Subscription, target route.Endpoint) (stop func(), err error) {
	if e.topics[sub.Topic] == nil {
		return nil, fmt.Errorf("subscription of %s: the app declares no topic %s", guest, sub.Topic)
	}
	stream := Stream(e.app, sub.Topic)
	budget := target.MethodTimeout()
	start, err := e.deliverPolicy(ctx, stream, guest, sub.Start)
	if err != nil {
		return nil, fmt.Errorf("subscription of %s to topic %s: %w", guest, sub.Topic, err)
	}
	cons, err := e.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:       guest,
		DeliverPolicy: start,
		Description:   fmt.Sprintf("parigot: topic %s for %s", sub.Topic, sub.Method),
		FilterSubject: TopicSubject(e.app, sub.Topic),
		AckPolicy:     jetstream.AckExplicitPolicy,
		// The subscriber answers for each message within the budget and
		// its grace; the server redelivers on its own only what a process
		// that died took with it.
		AckWait:       2*budget + 5*time.Second,
		MaxAckPending: maxInFlight,
		MaxDeliver:    -1, // the subscriber dead-letters, see finish
	})
	if err != nil {
		return nil, fmt.Errorf("subscription of %s to topic %s: %w", guest, sub.Topic, err)
	}
	s := &subscriber{e: e, guest: guest, sub: sub, target: target, budget: budget, inflight: map[uint64]*delivery{}}
	if s.sub.MaxAttempts <= 0 {
		s.sub.MaxAttempts = manifest.DefaultMaxAttempts
	}
	cc, err := cons.Consume(s.handle, jetstream.PullMaxMessages(maxInFlight))
	if err != nil {
		return nil, fmt.Errorf("subscription of %s to topic %s: %w", guest, sub.Topic, err)
	}
	e.mu.Lock()
	e.subs = append(e.subs, cc)
	e.mu.Unlock()
	return cc.Stop, nil
}

// deliverPolicy is where the subscription of guest to stream starts: as
// start says when JetStream does not hold it yet; where it stands when it
// does (JetStream keeps a durable consumer's deliver policy for life, and
// a subscription goes on from where it is, whatever start says now).
func (e *Engine) deliverPolicy(ctx context.Context, stream, guest, start string) (jetstream.DeliverPolicy, error) {
	c, err := e.js.Consumer(ctx, stream, guest)
	switch {
	case err == nil:
		return c.CachedInfo().Config.DeliverPolicy, nil
	case !errors.Is(err, jetstream.ErrConsumerNotFound):
		return 0, err
	case start == manifest.StartNew:
		return jetstream.DeliverNewPolicy, nil
	default:
		return jetstream.DeliverAllPolicy, nil
	}
}

// StopSubscriptions stops taking messages: a process that stops lets the
// messages it has not answered go to others, or to its next run.
func (e *Engine) StopSubscriptions() {
	e.mu.Lock()
	subs := e.subs
	e.subs = nil
	e.mu.Unlock()
	for _, cc := range subs {
		cc.Stop()
	}
}

// subscriber hands one subscription's messages to its service and
// acknowledges them by the replies. It is the endpoint the replies come to.
type subscriber struct {
	e      *Engine
	guest  string
	sub    Subscription
	target route.Endpoint
	budget time.Duration

	mu       sync.Mutex
	nextID   uint64
	inflight map[uint64]*delivery
	// free counts, by stream sequence, the deliveries of a message that
	// failed through no fault of its own (its service ended while the
	// message waited for it, in its inbox or behind a store write or a
	// call of its own): they are no attempts. Kept in memory: after a
	// restart of this process they count again.
	free map[uint64]uint64
}

type delivery struct {
	msg      jetstream.Msg
	attempts uint64 // this one included, the free ones not
	seq      uint64 // the message's stream sequence (0: unknown)
	timer    *time.Timer
}

// GuestName implements route.Endpoint.
func (s *subscriber) GuestName() string { return "topic " + s.sub.Topic }

// Topic implements route.Topic: the calls are deliveries of its messages.
func (s *subscriber) Topic() string { return s.sub.Topic }

// MethodTimeout implements route.Endpoint.
func (s *subscriber) MethodTimeout() time.Duration { return OpTimeout }

// Deliver implements route.Endpoint: the service's reply to a message.
func (s *subscriber) Deliver(ev abi.Event, _ route.Endpoint) route.Refusal {
	if ev.Kind == abi.KindReply {
		reason := abi.ErrorMessage(ev.Payload)
		// The service ended (another message's crash, say) while this
		// one waited in its inbox, or in flight in the guest behind a
		// store write or a call of its own: it did not end the service,
		// and is no attempt.
		bystander := ev.Code == abi.CodeUnavailable && (ev.Bystander || strings.HasSuffix(reason, route.NotTaken))
		s.finish(ev.CallID, ev.Code, reason, bystander, ev.Ended)
	}
	return route.Accepted
}

// handle hands one message to the service, as a call.
func (s *subscriber) handle(msg jetstream.Msg) {
	var attempts, seq uint64 = 1, 0
	if meta, err := msg.Metadata(); err == nil {
		seq = meta.Sequence.Stream
		s.mu.Lock()
		attempts = meta.NumDelivered - min(s.free[seq], meta.NumDelivered-1)
		s.mu.Unlock()
	}
	d := &delivery{msg: msg, attempts: attempts, seq: seq}
	if attempts > uint64(s.sub.MaxAttempts) {
		// Its last attempt took its process down before it could answer.
		s.goDeadLetter(d, "its last attempt ended without an answer")
		return
	}
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	s.inflight[id] = d
	// No answer within the budget and its grace (the host's overrun rule):
	// deliver it again later.
	d.timer = time.AfterFunc(s.budget+route.Grace(s.budget), func() {
		s.finish(id, abi.CodeDeadlineExceeded, fmt.Sprintf("no answer within the method budget of %s", s.budget), false, false)
	})
	s.mu.Unlock()
	ev := abi.Event{Kind: abi.KindCall, CallID: id, Deadline: time.Now().Add(s.budget).UnixNano(), Method: s.sub.Method, Payload: msg.Data()}
	// The span that published the message, which the delivery's span is a
	// child of. Whoever may publish on the topic's subject may write the
	// header: one that is not a W3C traceparent is ignored, and the
	// delivery starts a trace of its own, as one published untraced does.
	if tp := msg.Headers().Get(abi.TraceparentHeader); tp != "" {
		ev.Trace, _ = abi.ParseTraceparent(tp)
	}
	if r := s.target.Deliver(ev, s); r != route.Accepted {
		// Its service is down, starting again or full: the message never
		// reached the method.
		s.finish(id, abi.CodeUnavailable, "the service did not take it", true, false)
	}
}

// finish settles a message by how its delivery ended, once. A bystander's
// delivery failed through no fault of the message (see Deliver): it is
// delivered again without counting an attempt. ended says the delivery
// ended its service (abi.Event.Ended): the target is told which message
// did, when it is delivered again.
func (s *subscriber) finish(id uint64, code abi.Code, reason string, bystander, ended bool) {
	s.mu.Lock()
	d := s.inflight[id]
	delete(s.inflight, id)
	s.mu.Unlock()
	if d == nil {
		return // settled already: a reply after the timer, or the timer after a reply
	}
	d.timer.Stop()
	if code == abi.CodeOK {
		s.forget(d)
		d.msg.Ack()
		return
	}
	w, watched := s.target.(DeliveryWatcher)
	if ended && watched {
		if p := w.PanicMessage(); p != "" {
			reason += ": " + p // "service ledger panicked: index out of range [3] with length 3"
		}
	}
	if bystander && d.seq != 0 {
		s.mu.Lock()
		if s.free == nil {
			s.free = map[uint64]uint64{}
		}
		s.free[d.seq]++
		free := s.free[d.seq]
		s.mu.Unlock()
		// Each time longer: a service down for a while is not handed the
		// message every 100ms (each delivery counts on the server, and in
		// a later run of this process, as an attempt).
		d.msg.NakWithDelay(retryDelay(d.attempts + free - 1))
		return
	}
	if d.attempts >= uint64(s.sub.MaxAttempts) {
		s.forget(d)
		s.goDeadLetter(d, code.String()+": "+reason)
		return
	}
	d.msg.NakWithDelay(retryDelay(d.attempts))
	if watched && ended {
		w.EndedBy(s.sub.Topic, d.seq, d.attempts, uint64(s.sub.MaxAttempts), code.String()+": "+reason)
	}
}

// forget drops what free holds of d's message, settled.
func (s *subscriber) forget(d *delivery) {
	s.mu.Lock()
	delete(s.free, d.seq)
	s.mu.Unlock()
}

// retryDelay is the pause before the next delivery of a message that
// failed attempts times: 100ms, doubling, at most 5s.
func retryDelay(attempts uint64) time.Duration {
	return min(100*time.Millisecond<<min(attempts-1, 6), 5*time.Second)
}

// goDeadLetter dead-letters d on a goroutine the engine's Close waits for.
func (s *subscriber) goDeadLetter(d *delivery, reason string) {
	s.e.ops.Add(1)
	go func() {
		defer s.e.ops.Done()
		s.deadLetter(d, reason)
	}()
}

// deadLetter moves a message no delivery succeeded with to the topic's
// dead letters, then stops its deliveries. Should the publication fail,
// the message is delivered again (at least once, never lost).
func (s *subscriber) deadLetter(d *delivery, reason string) {
	ctx, cancel := context.WithTimeout(s.e.ctx, OpTimeout)
	defer cancel()
	m := &nats.Msg{Subject: DeadSubject(s.e.app, s.sub.Topic), Data: d.msg.Data(), Header: nats.Header{}}
	m.Header.Set(HeaderDeadTopic, s.sub.Topic)
	m.Header.Set(HeaderDeadGuest, s.guest)
	m.Header.Set(HeaderDeadAttempts, strconv.FormatUint(d.attempts, 10))
	m.Header.Set(HeaderDeadError, reason)
	if meta, err := d.msg.Metadata(); err == nil {
		m.Header.Set(HeaderDeadSequence, strconv.FormatUint(meta.Sequence.Stream, 10))
		// One dead letter per message and subscriber: a message whose
		// end of deliveries (the Term below) was lost, its process
		// stopped just after this publication, comes back past its
		// attempts and is dead-lettered again; the stream drops that
		// second publication within its window of duplicates.
		m.Header.Set(nats.MsgIdHdr, deadLetterID(s.sub.Topic, meta.Sequence.Stream, s.guest))
	}
	// The span that published the message, which a redelivery hands on
	// (Inspector.Redeliver copies the headers): its delivery then joins
	// the trace of its first attempts. Only a valid one, as handle reads it.
	if tp := d.msg.Headers().Get(abi.TraceparentHeader); tp != "" {
		if _, ok := abi.ParseTraceparent(tp); ok {
			m.Header.Set(abi.TraceparentHeader, tp)
		}
	}
	if _, err := s.e.js.PublishMsg(ctx, m); err != nil {
		d.msg.NakWithDelay(retryDelay(d.attempts))
		return
	}
	d.msg.TermWithReason("dead-lettered after " + strconv.FormatUint(d.attempts, 10) + " attempts")
	// The end of its deliveries reaches the server before this process
	// may stop (the engine's Close waits for this goroutine): lost, it
	// would have the message delivered again in the next run.
	s.e.nc.FlushTimeout(time.Second)
	if w, ok := s.target.(DeliveryWatcher); ok {
		seq := uint64(0)
		if meta, err := d.msg.Metadata(); err == nil {
			seq = meta.Sequence.Stream
		}
		w.DeadLettered(s.sub.Topic, seq, d.attempts, reason)
	}
}

// deadLetterID is the JetStream message id of the dead letter of the
// message seq of topic, dead-lettered by guest's subscription.
func deadLetterID(topic string, seq uint64, guest string) string {
	return "parigot.dead." + topic + "." + strconv.FormatUint(seq, 10) + "." + guest
}

// DeliveryWatcher is a subscription's target that is told what becomes
// of the messages that fail (the host says so, so that a user learns of
// it without reading the dead letters):
//
//   - DeadLettered: each message its subscriber dead-letters: the topic,
//     the message's sequence in its stream, its attempts and why the last
//     failed;
//   - EndedBy: each delivery that ended the service (it crashed or
//     overran in the message's method) and is delivered again: which
//     message, its attempt of maxAttempts, and why;
//   - PanicMessage: the value of the panic that ended the service, which
//     the reasons of both add.
type DeliveryWatcher interface {
	DeadLettered(topic string, seq, attempts uint64, reason string)
	EndedBy(topic string, seq, attempt, maxAttempts uint64, reason string)
	// PanicMessage is the value of the panic that ended the service
	// ("index out of range [3] with length 3"), or "": asked, as a
	// delivery that ended it is settled, for the reason its dead letter
	// and EndedBy give, which the operator reads, and no caller does.
	PanicMessage() string
}
