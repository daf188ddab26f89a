package state

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// StaleSubscription is a subscription JetStream holds to a topic the app
// declares, of a service that no longer subscribes to it: one renamed, or
// whose subscribe block moved or went, since an earlier run. Its messages
// wait for it in vain. When the run starts subscriptions the topic had
// none of (New), each is delivered every message the topic keeps, from
// its first, those the old one took included: a service renamed does its
// work again.
type StaleSubscription struct {
	Topic   string
	Service string // whose subscription it was
	// Taken is its ack floor: the place in the topic up to which it took
	// every message (0: none).
	Taken uint64
	// Waiting is how many of the topic's messages it has not taken.
	Waiting uint64
	// Kept is how many messages the topic keeps (its dead letters not
	// counted): what a new subscription is delivered.
	Kept uint64
	// New names, sorted, the services that subscribe to the topic and
	// have no subscription in JetStream yet, from the topic's first
	// message: this run starts theirs. FromNow names those that start
	// with the messages published after (start = "new").
	New     []string `json:",omitempty"`
	FromNow []string `json:",omitempty"`
}

// String says what the old subscription is, what the new ones will be
// delivered, and what to do.
func (s StaleSubscription) String() string {
	old := fmt.Sprintf("topic %s holds the subscription of service %s, which parigot.hcl no longer declares (it took the topic up to message %d; %s not taken)",
		s.Topic, s.Service, s.Taken, counted(s.Waiting, "message"))
	drop := fmt.Sprintf("parigot state drop subscription %s %s", s.Topic, s.Service)
	switch {
	case len(s.New) > 0 && s.Kept > 0:
		return fmt.Sprintf("%s, and this run starts the subscription of %s, which is delivered every message the topic keeps (%d), from its first, those %s took included. "+
			"If %[2]s is %[4]s renamed, its method handles them again (a subscribe block with start = \"new\" starts a new subscription with the messages published after it: docs/STATE.md#changing-what-the-data-holds); once nothing waits for %[4]s, %[5]s removes the old one",
			old, strings.Join(s.New, " and "), s.Kept, s.Service, drop)
	case len(s.FromNow) > 0:
		return fmt.Sprintf("%s, and this run starts the subscription of %s with the messages published from now (start = \"new\"): what %[4]s did not take (%[3]s) is delivered to none; %[5]s removes the old one",
			old, strings.Join(s.FromNow, " and "), counted(s.Waiting, "message"), s.Service, drop)
	}
	return old + ": no run delivers them; " + drop + " removes it"
}

// staleSubscriptions returns, by topic and service, the subscriptions
// JetStream holds to the topics of e's app of services that topics do
// not name as subscribers.
func (e *Engine) staleSubscriptions(ctx context.Context, topics []TopicSpec) ([]StaleSubscription, error) {
	var out []StaleSubscription
	for _, t := range topics {
		found, err := e.staleOf(ctx, t)
		if err != nil {
			return out, err
		}
		out = append(out, found...)
	}
	return out, nil
}

// staleOf returns the stale subscriptions of topic t.
func (e *Engine) staleOf(ctx context.Context, t TopicSpec) ([]StaleSubscription, error) {
	subject := TopicSubject(e.app, t.Name)
	stream, err := e.js.Stream(ctx, Stream(e.app, t.Name))
	if err != nil {
		return nil, fmt.Errorf("reading topic %s: %w", t.Name, err)
	}
	var stale []StaleSubscription
	held := map[string]bool{}
	consumers := stream.ListConsumers(ctx)
	for c := range consumers.Info() {
		if c.Config.Durable == "" || c.Config.FilterSubject != subject {
			continue // a reader's ordered consumer
		}
		held[c.Name] = true
		if !slices.Contains(t.Subscribers, c.Name) {
			stale = append(stale, StaleSubscription{Topic: t.Name, Service: c.Name, Taken: c.AckFloor.Stream, Waiting: c.NumPending + uint64(c.NumAckPending)})
		}
	}
	if err := consumers.Err(); err != nil {
		return nil, fmt.Errorf("reading the subscriptions of topic %s: %w", t.Name, err)
	}
	if len(stale) == 0 {
		return nil, nil
	}
	var fresh, fromNow []string
	for _, s := range t.Subscribers {
		switch {
		case held[s]:
		case slices.Contains(t.StartNew, s):
			fromNow = append(fromNow, s)
		default:
			fresh = append(fresh, s)
		}
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return nil, fmt.Errorf("reading topic %s: %w", t.Name, err)
	}
	kept := info.State.Subjects[subject]
	for i := range stale {
		stale[i].New, stale[i].FromNow, stale[i].Kept = fresh, fromNow, kept
	}
	// One that took every message, with nothing to deliver again to a
	// new one, loses nothing and repeats nothing: not worth a word.
	stale = slices.DeleteFunc(stale, func(s StaleSubscription) bool { return s.Waiting == 0 && (len(fresh) == 0 || kept == 0) })
	slices.SortFunc(stale, func(a, b StaleSubscription) int { return strings.Compare(a.Service, b.Service) })
	return stale, nil
}
