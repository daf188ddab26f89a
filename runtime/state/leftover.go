package state

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Leftover is a store or topic that JetStream holds data of but the app
// no longer declares: one renamed or removed in parigot.hcl since an
// earlier run. A run leaves it as it is and reads none of it, so without
// a word its values would seem lost, and the messages waiting in it
// would never be delivered.
type Leftover struct {
	Kind string // "store" or "topic"
	Name string
	// Keys is how many keys the store's bucket holds (a deleted key
	// counts until its bucket forgets it); Messages how many messages the
	// topic's stream holds, its dead letters included.
	Keys, Messages uint64
	// Waiting is, for a topic, how many of its messages each subscriber
	// (by service name) has not yet taken or not yet acknowledged.
	Waiting map[string]uint64 `json:",omitempty"`
}

// String says what is left over and what becomes of it.
func (l Leftover) String() string {
	if l.Kind == "store" {
		return fmt.Sprintf("the data holds store %s (%s), which parigot.hcl no longer declares: this run leaves it as it is and reads none of it. "+
			"To keep its values under a new name, declare it again beside the new one and copy them over (docs/STATE.md#changing-what-the-data-holds); to let them go, parigot state drop store %[1]s", l.Name, counted(l.Keys, "key"))
	}
	var subs []string
	for s, n := range l.Waiting {
		if n > 0 {
			subs = append(subs, fmt.Sprintf("%d not yet taken by %s", n, s))
		}
	}
	if len(subs) == 0 {
		return fmt.Sprintf("the data holds topic %[1]s (%s, none waiting for a subscriber), which parigot.hcl no longer declares: this run leaves it as it is; parigot state drop topic %[1]s removes it", l.Name, counted(l.Messages, "message"))
	}
	slices.Sort(subs)
	return fmt.Sprintf("the data holds topic %s (%s, %s), which parigot.hcl no longer declares: this run leaves it as it is and delivers none of them. "+
		"To have them delivered, declare it again, with its subscriptions, until they are taken (docs/STATE.md#changing-what-the-data-holds); to let them go, parigot state drop topic %[1]s", l.Name, counted(l.Messages, "message"), strings.Join(subs, ", "))
}

// leftovers returns the stores and topics of e's app that JetStream holds
// data of and stores and topics do not declare, sorted by kind and name.
// Empty ones are not left over: nothing would be lost without them.
func (e *Engine) leftovers(ctx context.Context, stores []StoreSpec, topics []TopicSpec) ([]Leftover, error) {
	declared := map[string]bool{}
	for _, s := range stores {
		declared["KV_"+Bucket(e.app, s.Name)] = true
	}
	for _, t := range topics {
		declared[Stream(e.app, t.Name)] = true
	}
	storePrefix, topicPrefix := "KV_"+Bucket(e.app, ""), Stream(e.app, "")
	names := e.js.StreamNames(ctx)
	var found []string
	for name := range names.Name() {
		if !declared[name] && (strings.HasPrefix(name, storePrefix) || strings.HasPrefix(name, topicPrefix)) {
			found = append(found, name)
		}
	}
	if err := names.Err(); err != nil {
		return nil, fmt.Errorf("listing JetStream's streams: %w", err)
	}
	slices.Sort(found) // "KV_..." (stores) before "parigot_..." (topics)
	var out []Leftover
	for _, name := range found {
		l, err := e.leftover(ctx, name, storePrefix, topicPrefix)
		if err != nil {
			return nil, err
		}
		if l.Keys > 0 || l.Messages > 0 {
			out = append(out, l)
		}
	}
	return out, nil
}

// leftover describes the stream name, one of a store's bucket or of a
// topic, as its prefix says.
func (e *Engine) leftover(ctx context.Context, name, storePrefix, topicPrefix string) (Leftover, error) {
	s, err := e.js.Stream(ctx, name)
	if err != nil {
		return Leftover{}, fmt.Errorf("reading stream %s: %w", name, err)
	}
	if store, ok := strings.CutPrefix(name, storePrefix); ok {
		return describeStream(ctx, s, "store", store)
	}
	return describeStream(ctx, s, "topic", strings.TrimPrefix(name, topicPrefix))
}

// describeStream says what s, the stream of store or topic name (kind), holds.
func describeStream(ctx context.Context, s jetstream.Stream, kind, name string) (Leftover, error) {
	st := s.CachedInfo().State
	if kind == "store" {
		return Leftover{Kind: kind, Name: name, Keys: st.NumSubjects}, nil
	}
	l := Leftover{Kind: kind, Name: name, Messages: st.Msgs, Waiting: map[string]uint64{}}
	consumers := s.ListConsumers(ctx)
	for c := range consumers.Info() {
		l.Waiting[c.Name] = c.NumPending + uint64(c.NumAckPending)
	}
	if err := consumers.Err(); err != nil {
		return Leftover{}, fmt.Errorf("reading the subscriptions of topic %s: %w", name, err)
	}
	return l, nil
}

// counted is n of noun, in its plural unless one: "1 key", "2 keys".
func counted(n uint64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
