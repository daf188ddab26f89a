package state

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"parigot.dev/parigot/runtime/internal/abi"
)

// Inspector reads an app's stores and topics from outside any guest, and
// gives its dead letters back to their topics: what `parigot state` shows
// and does. It makes nothing: a store or topic no run has made is a
// *NotMadeError.
type Inspector struct {
	app string
	js  jetstream.JetStream
}

// NewInspector inspects the stores and topics of app on nc, which stays
// the caller's.
func NewInspector(nc *nats.Conn, app string) (*Inspector, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	return &Inspector{app: app, js: js}, nil
}

// NotMadeError is a store or topic that JetStream does not hold: no run
// of the app has made its bucket or stream there yet.
type NotMadeError struct {
	Kind     string // "store" or "topic"
	Name     string
	Resource string // the bucket or stream JetStream lacks
}

func (e *NotMadeError) Error() string {
	what := "bucket"
	if e.Kind == "topic" {
		what = "stream"
	}
	return fmt.Sprintf("%s %s holds nothing yet: JetStream has no %s %s, which a run of the app makes", e.Kind, e.Name, what, e.Resource)
}

// NoValueError is a key of a store that holds nothing.
type NoValueError struct {
	Store, Key string
}

func (e *NoValueError) Error() string {
	return fmt.Sprintf("key %s of store %s holds nothing", e.Key, e.Store)
}

func (i *Inspector) kv(ctx context.Context, store string) (jetstream.KeyValue, error) {
	kv, err := i.js.KeyValue(ctx, Bucket(i.app, store))
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, &NotMadeError{Kind: "store", Name: store, Resource: Bucket(i.app, store)}
	}
	return kv, err
}

// Keys returns, sorted, the keys of store that hold a value: all of them,
// or those matching filter ("acct.*", "acct.>"), as a guest's Keys does,
// without its limit on a reply's size.
func (i *Inspector) Keys(ctx context.Context, store, filter string) ([]string, error) {
	if filter != "" && !abi.ValidKeyFilter(filter) {
		return nil, fmt.Errorf("%s is not a valid key filter: elements of keys, any of them * (one element), the last of them possibly > (the rest)", abi.ShowKey(filter))
	}
	kv, err := i.kv(ctx, store)
	if err != nil {
		return nil, err
	}
	var l jetstream.KeyLister
	if filter == "" {
		l, err = kv.ListKeys(ctx)
	} else {
		l, err = kv.ListKeysFiltered(ctx, filter)
	}
	if err != nil {
		return nil, err
	}
	defer l.Stop()
	keys := []string{}
	for k := range l.Keys() {
		keys = append(keys, k)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	slices.Sort(keys)
	return keys, nil
}

// Entry is the value a key of a store holds.
type Entry struct {
	Key      string
	Revision uint64
	Written  time.Time
	Value    []byte
}

// Get returns what key of store holds, or a *NoValueError.
func (i *Inspector) Get(ctx context.Context, store, key string) (Entry, error) {
	if err := checkKey(key); err != nil {
		return Entry{}, err
	}
	kv, err := i.kv(ctx, store)
	if err != nil {
		return Entry{}, err
	}
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return Entry{}, &NoValueError{Store: store, Key: key}
	}
	if err != nil {
		return Entry{}, err
	}
	return Entry{Key: key, Revision: e.Revision(), Written: e.Created(), Value: e.Value()}, nil
}

// DeadLetter is a message of a topic that no delivery succeeded with,
// kept on the topic's dead letters (DeadSubject) with why.
type DeadLetter struct {
	Seq        uint64 // the dead letter's own place in the topic's stream
	Message    uint64 // the message's place in the topic (HeaderDeadSequence); 0: unknown
	Topic      string
	Subscriber string // the service whose deliveries failed
	Attempts   uint64
	Error      string // why the last attempt failed
	// Trace is the id of the trace the message was published in (hex),
	// where its deliveries are, and its redelivery will be; empty: it
	// was published untraced.
	Trace  string
	Time   time.Time
	Data   []byte
	Header nats.Header
}

// DeadLetters returns the dead letters of topic, oldest first.
func (i *Inspector) DeadLetters(ctx context.Context, topic string) ([]DeadLetter, error) {
	stream, err := i.js.Stream(ctx, Stream(i.app, topic))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, &NotMadeError{Kind: "topic", Name: topic, Resource: Stream(i.app, topic)}
	}
	if err != nil {
		return nil, err
	}
	subject := DeadSubject(i.app, topic)
	var out []DeadLetter
	for seq := uint64(1); ; {
		m, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the dead letters of topic %s: %w", topic, err)
		}
		d := DeadLetter{Seq: m.Sequence, Topic: topic, Time: m.Time, Data: m.Data, Header: m.Header,
			Subscriber: m.Header.Get(HeaderDeadGuest), Error: m.Header.Get(HeaderDeadError)}
		d.Message, _ = strconv.ParseUint(m.Header.Get(HeaderDeadSequence), 10, 64)
		d.Attempts, _ = strconv.ParseUint(m.Header.Get(HeaderDeadAttempts), 10, 64)
		if tc, ok := abi.ParseTraceparent(m.Header.Get(abi.TraceparentHeader)); ok {
			d.Trace = hex.EncodeToString(tc.TraceID[:])
		}
		out = append(out, d)
		seq = m.Sequence + 1
	}
}

// Redelivery is what Redeliver did with a dead letter.
type Redelivery struct {
	// Message is the place in the topic at which the message was
	// published again.
	Message uint64
	// Duplicate: the message had been published again already (another
	// subscriber's dead letter of it, or an earlier Redeliver whose
	// removal failed), within the stream's window for duplicates; this
	// publication was dropped, and Message is the earlier one.
	Duplicate bool
	// NotRemoved is why the dead letter could not be removed after the
	// publication: it is still among the dead letters. Nil: removed.
	NotRemoved error
}

// Redeliver publishes d again to its topic, so that every subscription of
// the topic delivers it, and then, once JetStream has acknowledged that
// publication, removes d from the dead letters. Should the publication
// fail, d stays where it was: nothing is lost. Should the removal fail,
// the message is on the topic and still among the dead letters
// (Redelivery.NotRemoved); redelivering d again within the stream's window
// for duplicates (2 minutes) publishes nothing a second time.
//
// Several dead letters of one message (one per subscriber whose
// deliveries failed) are published once: each publication carries the
// message's place in the topic as its id, and JetStream drops a second
// one within the window.
func (i *Inspector) Redeliver(ctx context.Context, d DeadLetter) (Redelivery, error) {
	m := &nats.Msg{Subject: TopicSubject(i.app, d.Topic), Data: d.Data, Header: nats.Header{}}
	for k, v := range d.Header {
		if !deadHeader(k) {
			m.Header[k] = v
		}
	}
	id := "parigot.redeliver.message." + strconv.FormatUint(d.Message, 10)
	if d.Message == 0 {
		id = "parigot.redeliver.dead." + strconv.FormatUint(d.Seq, 10)
	}
	ack, err := i.js.PublishMsg(ctx, m, jetstream.WithMsgID(id), jetstream.WithExpectStream(Stream(i.app, d.Topic)))
	if err != nil {
		return Redelivery{}, fmt.Errorf("publishing dead letter %d of topic %s again: %w", d.Seq, d.Topic, err)
	}
	r := Redelivery{Message: ack.Sequence, Duplicate: ack.Duplicate}
	stream, err := i.js.Stream(ctx, Stream(i.app, d.Topic))
	if err == nil {
		err = stream.DeleteMsg(ctx, d.Seq)
	}
	r.NotRemoved = err
	return r, nil
}

// Drop removes store or topic name (kind "store" or "topic") from
// JetStream, with all it holds, and says what that was: for a store or
// topic the app no longer declares (a Leftover), once its data has been
// carried over or is not wanted. Which ones may be dropped is the
// caller's to decide.
func (i *Inspector) Drop(ctx context.Context, kind, name string) (Leftover, error) {
	stream, resource := i.streamOf(kind, name)
	s, err := i.js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return Leftover{}, &NotMadeError{Kind: kind, Name: name, Resource: resource}
	}
	if err != nil {
		return Leftover{}, err
	}
	held, err := describeStream(ctx, s, kind, name)
	if err != nil {
		return Leftover{}, err
	}
	if err := i.js.DeleteStream(ctx, stream); err != nil {
		return Leftover{}, fmt.Errorf("removing %s %s: %w", kind, name, err)
	}
	return held, nil
}

// NoSubscriptionError is a subscription JetStream does not hold: service
// has none to topic.
type NoSubscriptionError struct {
	Topic, Service string
}

func (e *NoSubscriptionError) Error() string {
	return fmt.Sprintf("topic %s holds no subscription of service %s", e.Topic, e.Service)
}

// DropSubscription removes the subscription of service to topic, and
// says how far it had taken the topic: for one of a service that no
// longer subscribes to it (a StaleSubscription), once nothing waits for
// it. Which ones may be dropped is the caller's to decide. A subscription
// JetStream does not hold is a *NoSubscriptionError.
func (i *Inspector) DropSubscription(ctx context.Context, topic, service string) (StaleSubscription, error) {
	s, err := i.js.Stream(ctx, Stream(i.app, topic))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return StaleSubscription{}, &NoSubscriptionError{Topic: topic, Service: service}
	}
	if err != nil {
		return StaleSubscription{}, err
	}
	c, err := s.Consumer(ctx, service)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return StaleSubscription{}, &NoSubscriptionError{Topic: topic, Service: service}
	}
	if err != nil {
		return StaleSubscription{}, err
	}
	info := c.CachedInfo()
	if err := s.DeleteConsumer(ctx, service); err != nil {
		return StaleSubscription{}, fmt.Errorf("removing the subscription of %s to topic %s: %w", service, topic, err)
	}
	return StaleSubscription{Topic: topic, Service: service, Taken: info.AckFloor.Stream, Waiting: info.NumPending + uint64(info.NumAckPending)}, nil
}

// Holds says whether JetStream holds store or topic name (kind "store" or
// "topic"), declared or not: whether a run of the app has made it, and
// nothing has dropped it since. An empty one is held.
func (i *Inspector) Holds(ctx context.Context, kind, name string) (bool, error) {
	stream, _ := i.streamOf(kind, name)
	_, err := i.js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return false, nil
	}
	return err == nil, err
}

// streamOf is the stream that holds store or topic name (kind), and the
// resource a user knows it by: a store's bucket, a topic's stream.
func (i *Inspector) streamOf(kind, name string) (stream, resource string) {
	if kind == "store" {
		return "KV_" + Bucket(i.app, name), Bucket(i.app, name)
	}
	return Stream(i.app, name), Stream(i.app, name)
}

// deadHeader says whether header k is one a dead letter adds to its
// message (or a publication's id, which a redelivery sets anew).
func deadHeader(k string) bool {
	for _, h := range []string{HeaderDeadTopic, HeaderDeadSequence, HeaderDeadGuest, HeaderDeadAttempts, HeaderDeadError, jetstream.MsgIDHeader} {
		if strings.EqualFold(k, h) {
			return true
		}
	}
	return false
}
