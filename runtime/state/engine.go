package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// StoreSpec is a store of the app.
type StoreSpec struct {
	Name     string
	Replicas int // 0: 1
	History  int // 0: 1
	// Value is the full name of the proto message the store's values
	// are (its value in parigot.hcl), or "" for values of any shape. A
	// guest that opens the store is told it, and refuses to write or
	// read a message of another type (see abi.OpenWithValue).
	Value string `json:",omitempty"`
}

// TopicSpec is a topic of the app.
type TopicSpec struct {
	Name     string
	Replicas int // 0: 1
	// MaxAge and MaxBytes bound what the topic's stream keeps (its dead
	// letters with it); zero: no bound (manifest.Topic).
	MaxAge   time.Duration `json:",omitempty"`
	MaxBytes uint64        `json:",omitempty"`
	// Subscribers names the services that subscribe to the topic: a
	// subscription JetStream holds of another service is one an earlier
	// parigot.hcl declared (see StaleSubscription).
	Subscribers []string `json:",omitempty"`
	// StartNew names those of Subscribers whose subscription, when a run
	// makes it, starts with the messages published after (start = "new").
	StartNew []string `json:",omitempty"`
}

// Subscription delivers every message of Topic to Method of a service.
type Subscription struct {
	Topic       string
	Method      string // "package.Service/Method"
	MaxAttempts int    // deliveries before the message is dead-lettered; 0: manifest.DefaultMaxAttempts
	// Start is where a subscription the data does not hold yet starts:
	// manifest.StartNew, the messages published after it is made; else
	// (manifest.StartFirst, "") every message the topic keeps.
	Start string `json:",omitempty"`
}

// Options configures an Engine.
type Options struct {
	App    string
	Stores []StoreSpec
	Topics []TopicSpec
	// Memory keeps new buckets and streams in memory (parigot run
	// --ephemeral).
	Memory bool
	// Create makes the buckets and streams (and updates their settings)
	// when they are missing; without it they must exist, made by whoever
	// holds the right to (split mode's supervisor).
	Create bool
	// Uses, when not nil, opens only these ("store.<name>",
	// "topic.<name>"): a split-mode child opens what its guest may use,
	// which is all its NATS user may reach.
	Uses []string
	// Log, when set, is told, by an Open that makes the app's stores and
	// topics (Create, without Uses), of each the data holds that Stores
	// and Topics no longer declare (see Leftover).
	Log func(string)
}

// SpecsFromManifest returns the app's stores and topics for Options.
func SpecsFromManifest(app *manifest.App) ([]StoreSpec, []TopicSpec) {
	var stores []StoreSpec
	for _, s := range app.Stores {
		stores = append(stores, StoreSpec{Name: s.Name, Replicas: s.Replicas, History: s.History, Value: s.Value})
	}
	var topics []TopicSpec
	for _, t := range app.Topics {
		spec := TopicSpec{Name: t.Name, Replicas: t.Replicas, MaxAge: t.MaxAge, MaxBytes: t.MaxBytes, Subscribers: SubscribersOf(app, t.Name)}
		for _, g := range spec.Subscribers {
			if subscription(app.Guest(g), t.Name).Start == manifest.StartNew {
				spec.StartNew = append(spec.StartNew, g)
			}
		}
		topics = append(topics, spec)
	}
	return stores, topics
}

// SubscribersOf names, sorted, the services of app that subscribe to topic.
func SubscribersOf(app *manifest.App, topic string) []string {
	var subs []string
	for _, g := range app.Guests() {
		if subscription(g, topic) != nil {
			subs = append(subs, g.Name)
		}
	}
	slices.Sort(subs)
	return subs
}

// subscription is g's subscription to topic, or nil.
func subscription(g *manifest.Guest, topic string) *manifest.Subscription {
	for _, s := range g.Subscriptions {
		if s.Topic == topic {
			return s
		}
	}
	return nil
}

// SubscriptionsFromManifest returns the subscriptions of a guest.
func SubscriptionsFromManifest(g *manifest.Guest) []Subscription {
	var subs []Subscription
	for _, s := range g.Subscriptions {
		subs = append(subs, Subscription{Topic: s.Topic, Method: s.Method, MaxAttempts: s.MaxAttempts, Start: s.Start})
	}
	return subs
}

// Names of an app's JetStream resources: the one place their form is
// written. App, store and topic names are lowercase (manifest.ValidName),
// so the uppercase separators cannot be part of a name, and no two stores
// or topics of any two apps share a bucket or stream.

// Bucket is the KV bucket of store name of app.
func Bucket(app, name string) string { return "parigot_" + app + "_STORE_" + name }

// Stream is the stream of topic name of app.
func Stream(app, name string) string { return "parigot_" + app + "_TOPIC_" + name }

// TopicSubject is where topic name's messages are published.
func TopicSubject(app, name string) string { return "parigot." + app + ".topic." + name }

// DeadSubject is where the messages of topic name that no attempt could
// deliver go, in the topic's own stream.
func DeadSubject(app, name string) string { return "parigot." + app + ".dead." + name }

// Engine holds an app's stores and topics on one NATS connection. Its
// endpoints are safe for concurrent use: every guest of the process
// shares it.
type Engine struct {
	app      string
	nc       *nats.Conn
	js       jetstream.JetStream
	stores   map[string]*storeEndpoint
	topics   map[string]*topicEndpoint
	declared map[string]bool // "store.<name>", "topic.<name>": every one of the app's

	ctx    context.Context // ends at Close: operations in flight end with it
	cancel context.CancelFunc
	ops    sync.WaitGroup // operations in flight on goroutines of their own
	req    *requester     // the operations sent as requests

	mu   sync.Mutex
	subs []jetstream.ConsumeContext
}

// Open opens (with Options.Create, makes) the stores and topics of an app
// on nc, which stays the caller's.
func Open(ctx context.Context, nc *nats.Conn, opts Options) (*Engine, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	e := &Engine{app: opts.App, nc: nc, js: js, stores: map[string]*storeEndpoint{}, topics: map[string]*topicEndpoint{}, declared: map[string]bool{}}
	opened := func(ref string) bool {
		e.declared[ref] = true
		return opts.Uses == nil || slices.Contains(opts.Uses, ref)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if e.req, err = newRequester(nc); err != nil {
		return nil, err
	}
	storage := jetstream.FileStorage
	if opts.Memory {
		storage = jetstream.MemoryStorage
	}
	for _, s := range opts.Stores {
		if !opened("store." + s.Name) {
			continue
		}
		kv, err := e.openStore(ctx, s, storage, opts.Create)
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", s.Name, err)
		}
		e.stores[s.Name] = &storeEndpoint{e: e, name: s.Name, value: s.Value, kv: kv, subject: "$KV." + Bucket(e.app, s.Name) + ".", stream: "KV_" + Bucket(e.app, s.Name)}
	}
	for _, t := range opts.Topics {
		if !opened("topic." + t.Name) {
			continue
		}
		if err := e.openTopic(ctx, t, storage, opts.Create); err != nil {
			return nil, fmt.Errorf("topic %s: %w", t.Name, err)
		}
		e.topics[t.Name] = &topicEndpoint{e: e, name: t.Name, subject: TopicSubject(e.app, t.Name)}
	}
	if opts.Create && opts.Uses == nil && opts.Log != nil {
		e.sayLeftovers(ctx, opts)
	}
	return e, nil
}

// sayLeftovers tells opts.Log of the stores and topics the data holds
// that opts no longer declares. Not finding out is said, and no reason to
// stop the run: the declared ones are open.
func (e *Engine) sayLeftovers(ctx context.Context, opts Options) {
	found, err := e.leftovers(ctx, opts.Stores, opts.Topics)
	if err != nil {
		opts.Log(fmt.Sprintf("could not look for stores and topics of an earlier parigot.hcl in the data: %v", err))
	}
	for _, l := range found {
		opts.Log(l.String())
	}
	stale, err := e.staleSubscriptions(ctx, opts.Topics)
	if err != nil {
		opts.Log(fmt.Sprintf("could not look for subscriptions of an earlier parigot.hcl in the data: %v", err))
	}
	for _, s := range stale {
		opts.Log(s.String())
	}
}

func (e *Engine) openStore(ctx context.Context, s StoreSpec, storage jetstream.StorageType, create bool) (jetstream.KeyValue, error) {
	bucket := Bucket(e.app, s.Name)
	if !create {
		return e.js.KeyValue(ctx, bucket)
	}
	return e.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:       bucket,
		Description:  fmt.Sprintf("parigot app %s, store %s", e.app, s.Name),
		History:      uint8(max(s.History, 1)),
		Replicas:     max(s.Replicas, 1),
		Storage:      storage,
		MaxValueSize: abi.MaxValue,
		// Keys may carry a TTL of their own (WithTTL), which needs a
		// bucket that keeps a marker when one expires.
		LimitMarkerTTL: time.Minute,
	})
}

func (e *Engine) openTopic(ctx context.Context, t TopicSpec, storage jetstream.StorageType, create bool) error {
	name := Stream(e.app, t.Name)
	if !create {
		_, err := e.js.Stream(ctx, name)
		return err
	}
	_, err := e.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        name,
		Description: fmt.Sprintf("parigot app %s, topic %s", e.app, t.Name),
		Subjects:    []string{TopicSubject(e.app, t.Name), DeadSubject(e.app, t.Name)},
		Storage:     storage,
		Replicas:    max(t.Replicas, 1),
		MaxMsgSize:  abi.MaxValue,
		Retention:   jetstream.LimitsPolicy,
		// The oldest messages go first once a bound is reached: a topic
		// that refused new ones would fail its publishers instead.
		MaxAge:   t.MaxAge,
		MaxBytes: maxBytes(t.MaxBytes),
		Discard:  jetstream.DiscardOld,
	})
	return err
}

// maxBytes is a topic's MaxBytes as a stream's: -1 for no bound.
func maxBytes(n uint64) int64 {
	if n == 0 {
		return -1
	}
	return int64(n)
}

// Endpoint returns where a guest's operations on a store (kind
// abi.OpenStore) or topic (abi.OpenTopic) go, or nil when the app
// declares none of that name. Whether the guest may use it is the host's
// to check (its uses).
func (e *Engine) Endpoint(kind uint32, name string) route.Endpoint {
	switch kind {
	case abi.OpenStore:
		if s := e.stores[name]; s != nil {
			return s
		}
	case abi.OpenTopic:
		if t := e.topics[name]; t != nil {
			return t
		}
	}
	return nil
}

// StoreValue returns the full name of the proto message that the values
// of store name are declared as (its value in parigot.hcl), or "" when it
// declares none or is not opened here.
func (e *Engine) StoreValue(name string) string {
	if s := e.stores[name]; s != nil {
		return s.value
	}
	return ""
}

// Declares reports whether the app declares the store (kind
// abi.OpenStore) or topic (abi.OpenTopic) name, opened here or not.
func (e *Engine) Declares(kind uint32, name string) bool {
	switch kind {
	case abi.OpenStore:
		return e.declared["store."+name]
	case abi.OpenTopic:
		return e.declared["topic."+name]
	}
	return false
}

// JetStream is the engine's JetStream context: for tools and benchmarks
// that look at the stores from outside any guest.
func (e *Engine) JetStream() jetstream.JetStream { return e.js }

// Close stops the subscriptions and ends the operations in flight (their
// guests hear "unavailable"). The connection stays open.
func (e *Engine) Close() {
	e.StopSubscriptions()
	e.cancel()
	e.req.close()
	e.ops.Wait()
}

// OpTimeout is the deadline of a store or topic operation made outside any
// call, which inherits none: JetStream answers in well under a millisecond
// when it is up, so this only bounds the wait for a server that is not.
const OpTimeout = 10 * time.Second

// run does op for the guest that sent ev, on a goroutine of its own, and
// delivers the reply to from. Its context ends at the call's deadline or
// when the engine closes.
func (e *Engine) run(ev abi.Event, from route.Endpoint, what string, op func(ctx context.Context, req abi.StateRequest) ([]byte, error)) route.Refusal {
	req, err := abi.DecodeStateRequest(ev.Payload)
	if err != nil {
		from.Deliver(abi.ErrorEvent(ev.CallID, abi.CodeInvalidArgument, what+": malformed request"), nil)
		return route.Accepted
	}
	// The request aliases the guest's dispatch buffer no more: the host
	// copied it.
	e.ops.Add(1)
	go func() {
		defer e.ops.Done()
		ctx := e.ctx
		if ev.Deadline > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, time.Unix(0, ev.Deadline))
			defer cancel()
		}
		out, err := op(ctx, req)
		if err != nil {
			code, msg := codeOf(err)
			from.Deliver(abi.ErrorEvent(ev.CallID, code, msg), nil)
			return
		}
		from.Deliver(abi.Event{Kind: abi.KindReply, Code: abi.CodeOK, CallID: ev.CallID, Payload: out}, nil)
	}()
	return route.Accepted
}

// stateError is a failure of an operation with the code the guest gets.
type stateError struct {
	code abi.Code
	msg  string
}

func (e *stateError) Error() string { return e.msg }

func failf(code abi.Code, format string, args ...any) error {
	return &stateError{code: code, msg: fmt.Sprintf(format, args...)}
}

// codeOf turns an operation's error into the code and message its guest
// gets.
func codeOf(err error) (abi.Code, string) {
	var se *stateError
	switch {
	case errors.As(err, &se):
		return se.code, se.msg
	case errors.Is(err, context.DeadlineExceeded):
		return abi.CodeDeadlineExceeded, "JetStream did not answer before the call's deadline"
	case errors.Is(err, context.Canceled):
		return abi.CodeUnavailable, "the host is stopping"
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrConnectionClosed):
		return abi.CodeUnavailable, "JetStream is not reachable: " + err.Error()
	case errors.Is(err, nats.ErrPermissionViolation):
		return abi.CodePermissionDenied, err.Error()
	case errors.Is(err, nats.ErrMaxPayload):
		return abi.CodeResourceExhausted, err.Error()
	case noRoom(err):
		return abi.CodeResourceExhausted, "JetStream has no room left to store it: the disk of the data directory is full, or near it; free space there, or run with --data on a disk with room"
	}
	return abi.CodeInternal, err.Error()
}

// noRoom says whether err is JetStream's refusal for want of storage
// ("insufficient resources", its error 10023).
func noRoom(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) && api.ErrorCode == 10023 {
		return true
	}
	var legacy *nats.APIError
	return errors.As(err, &legacy) && legacy.ErrorCode == nats.JSErrCodeInsufficientResourcesErr
}

// maxValue refuses a value over abi.MaxValue.
func checkValue(v []byte) error {
	if len(v) > abi.MaxValue {
		return failf(abi.CodeResourceExhausted, "a value of %d bytes is over the limit of %d bytes (1 MiB); keep large data elsewhere and store its name", len(v), abi.MaxValue)
	}
	return nil
}

func checkKey(key string) error {
	if !abi.ValidKey(key) {
		return failf(abi.CodeInvalidArgument, "%s is not a valid key: keys hold only ASCII letters, digits and -_=/. (a dot separates elements, none of them empty), at most %d bytes", abi.ShowKey(key), abi.MaxKey)
	}
	return nil
}

// ttl reads a request's TTL: none, or at least a second (JetStream counts
// in seconds).
func ttl(req abi.StateRequest) (time.Duration, error) {
	if req.TTL == 0 {
		return 0, nil
	}
	if req.TTL < int64(time.Second) {
		return 0, failf(abi.CodeInvalidArgument, "a TTL of %s is under the least of 1s", time.Duration(req.TTL))
	}
	return time.Duration(req.TTL), nil
}
