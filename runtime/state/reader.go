package state

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// TopicReader reads the messages of a topic in the order they were
// published, from its first, from outside any guest: what a topology test
// asserts a service published (package apptest's topic handles). It is an
// ordered consumer of its own, which takes nothing from the topic's
// subscribers and acknowledges nothing; it skips the topic's dead
// letters.
type TopicReader struct {
	topic string
	it    jetstream.MessagesContext
}

// TopicMessage is a message of a topic, as a TopicReader reads it.
type TopicMessage struct {
	Seq  uint64 // its place in the topic, as Publish returned it
	Data []byte
}

// ReadTopic returns a reader of the messages of topic, from its first.
// Close it when done.
func (e *Engine) ReadTopic(ctx context.Context, topic string) (*TopicReader, error) {
	if e.topics[topic] == nil {
		return nil, fmt.Errorf("reading topic %s: the app declares no topic %s, or this engine does not open it", topic, topic)
	}
	cons, err := e.js.OrderedConsumer(ctx, Stream(e.app, topic), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{TopicSubject(e.app, topic)},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("reading topic %s: %w", topic, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, fmt.Errorf("reading topic %s: %w", topic, err)
	}
	return &TopicReader{topic: topic, it: it}, nil
}

// Next returns the next message of the topic, waiting for one to be
// published until ctx ends; then its error is ctx's.
func (r *TopicReader) Next(ctx context.Context) (TopicMessage, error) {
	m, err := r.it.Next(jetstream.NextContext(ctx))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && (errors.Is(err, ctxErr) || errors.Is(err, jetstream.ErrMsgIteratorClosed)) {
			return TopicMessage{}, ctxErr
		}
		return TopicMessage{}, fmt.Errorf("reading topic %s: %w", r.topic, err)
	}
	msg := TopicMessage{Data: m.Data()}
	if meta, err := m.Metadata(); err == nil {
		msg.Seq = meta.Sequence.Stream
	}
	return msg, nil
}

// Close stops reading: the reader's consumer goes.
func (r *TopicReader) Close() { r.it.Stop() }

// TopicReadSubjects are the JetStream API subjects a client publishes to
// in order to read the messages of topic of app with a TopicReader: those
// of an ordered consumer of its own on the topic's stream.
func TopicReadSubjects(app, topic string) []string {
	stream := Stream(app, topic)
	return []string{
		"$JS.API.STREAM.INFO." + stream,
		"$JS.API.CONSUMER.CREATE." + stream, "$JS.API.CONSUMER.CREATE." + stream + ".>",
		"$JS.API.CONSUMER.INFO." + stream + ".>",
		"$JS.API.CONSUMER.MSG.NEXT." + stream + ".>",
		"$JS.API.CONSUMER.DELETE." + stream + ".>",
	}
}
