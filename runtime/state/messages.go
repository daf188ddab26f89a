package state

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"parigot.dev/parigot/runtime/internal/abi"
)

// Message is a message a topic keeps, as Inspector.Messages reads it.
type Message struct {
	Seq  uint64 // its place in the topic: what a run's lines and the dead letters call message N
	Time time.Time
	Data []byte
	// Trace is the id of the trace of the call that published it, in hex;
	// empty when it was published untraced.
	Trace string
	// Waiting names, sorted, the subscribing services that have not yet
	// taken it: delivered and acknowledged, in order (a message taken
	// out of order, while an older one is being redelivered, counts as
	// waiting until the older one is taken).
	Waiting []string
}

// TopicMessages is what Inspector.Messages reads of a topic.
type TopicMessages struct {
	// Messages are the newest messages the topic keeps, oldest first;
	// its dead letters are not among them (see DeadLetters).
	Messages []Message
	// Kept is how many messages the topic keeps in all.
	Kept uint64
	// Subscribers names, sorted, the services whose subscriptions to the
	// topic JetStream holds.
	Subscribers []string
}

// Messages returns the messages topic keeps, its newest limit of them
// when limit > 0 (all when 0), with the subscribers that have not taken
// each. It reads the topic as an ordered consumer of its own, which takes
// nothing from the subscribers.
func (i *Inspector) Messages(ctx context.Context, topic string, limit int) (TopicMessages, error) {
	name, subject := Stream(i.app, topic), TopicSubject(i.app, topic)
	stream, err := i.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return TopicMessages{}, &NotMadeError{Kind: "topic", Name: topic, Resource: name}
	}
	if err != nil {
		return TopicMessages{}, err
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return TopicMessages{}, fmt.Errorf("reading topic %s: %w", topic, err)
	}
	out := TopicMessages{Kept: info.State.Subjects[subject]}
	floors := map[string]uint64{} // by subscriber: the newest message taken with every older one
	consumers := stream.ListConsumers(ctx)
	for c := range consumers.Info() {
		if c.Config.Durable == "" || c.Config.FilterSubject != subject {
			continue // an ordered consumer of a reader, this one's included
		}
		floors[c.Name] = c.AckFloor.Stream
		out.Subscribers = append(out.Subscribers, c.Name)
	}
	if err := consumers.Err(); err != nil {
		return TopicMessages{}, fmt.Errorf("reading the subscriptions of topic %s: %w", topic, err)
	}
	slices.Sort(out.Subscribers)
	if out.Kept == 0 {
		return out, nil
	}

	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return TopicMessages{}, fmt.Errorf("reading topic %s: %w", topic, err)
	}
	last := info.State.LastSeq // what is published while it reads is not read
	for {
		batch, err := cons.Fetch(256, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return TopicMessages{}, fmt.Errorf("reading topic %s: %w", topic, err)
		}
		got, done := 0, false
		for m := range batch.Messages() {
			got++
			meta, err := m.Metadata()
			if err != nil {
				continue
			}
			if meta.Sequence.Stream > last {
				done = true
				break
			}
			msg := Message{Seq: meta.Sequence.Stream, Time: meta.Timestamp, Data: m.Data()}
			if tc, ok := abi.ParseTraceparent(m.Headers().Get(abi.TraceparentHeader)); ok {
				msg.Trace = hex.EncodeToString(tc.TraceID[:])
			}
			for _, s := range out.Subscribers {
				if msg.Seq > floors[s] {
					msg.Waiting = append(msg.Waiting, s)
				}
			}
			out.Messages = append(out.Messages, msg)
			if limit > 0 && len(out.Messages) >= 2*limit {
				// The newest limit are kept: the older ones go, a batch
				// of limit at a time rather than one per message read.
				out.Messages = append(out.Messages[:0], out.Messages[limit:]...)
			}
			done = meta.NumPending == 0 || meta.Sequence.Stream == last
		}
		if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return TopicMessages{}, fmt.Errorf("reading topic %s: %w", topic, err)
		}
		if done || got == 0 {
			if limit > 0 && len(out.Messages) > limit {
				out.Messages = out.Messages[len(out.Messages)-limit:]
			}
			return out, nil
		}
	}
}
