package apptest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"parigot.dev/parigot/runtime/guest"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
	"parigot.dev/parigot/runtime/state"
)

// Store is a handle on one of the app's stores, from the test (App.Store):
// it reads and writes the store the app's services use, as one of its
// guests would, through the same host. A failed operation returns the
// *guest.Error a guest's would carry (CodeNotFound for a key that holds
// nothing, CodeInvalidArgument for a key that is not one...).
type Store struct {
	app   *App
	name  string
	value string // the message its values are declared as, or ""
	ep    route.Endpoint
}

// Store returns a handle on the app's store name (a store block of
// parigot.hcl), to seed it before a call and to read what a call wrote.
// A store the app does not declare fails the test, naming those it does.
//
// Values are proto messages (Get, Put), or bytes (GetBytes, PutBytes).
// A store that declares its values' message (value = "bank.v1.Account"
// in its block) takes no other message, as in its guests.
func (a *App) Store(t testing.TB, name string) *Store {
	t.Helper()
	if a.engine == nil || !a.engine.Declares(abi.OpenStore, name) {
		var names []string
		for _, s := range a.app.Stores {
			names = append(names, s.Name)
		}
		t.Fatalf("apptest: %s declares no store %q (a store block of parigot.hcl); %s", a.app.Name, name, declared("stores", names))
	}
	return &Store{app: a, name: name, value: a.engine.StoreValue(name), ep: a.engine.Endpoint(abi.OpenStore, name)}
}

// declared says which stores or topics (what) an app declares.
func declared(what string, names []string) string {
	if len(names) == 0 {
		return "it declares no " + what
	}
	return "its " + what + ": " + strings.Join(names, ", ")
}

// Name is the store's name in parigot.hcl.
func (s *Store) Name() string { return s.name }

// do runs op on the store with req and returns its reply.
func (s *Store) do(ctx context.Context, op string, req abi.StateRequest) ([]byte, error) {
	return s.app.roundTrip(ctx, s.ep, s.method(op), op, req.Encode(nil))
}

// method names op in errors, as a guest's do: "store.accounts/Get".
func (s *Store) method(op string) string { return "store." + s.name + "/" + op }

// checkValue refuses m when the store declares its values another
// message, as a guest's store does.
func (s *Store) checkValue(op string, m proto.Message) error {
	if why := abi.WrongValue(s.name, s.value, string(proto.MessageName(m))); why != "" {
		return &guest.Error{Code: guest.CodeInvalidArgument, Method: s.method(op), Message: why}
	}
	return nil
}

// GetBytes returns the value of key. A key that holds nothing fails with
// CodeNotFound.
func (s *Store) GetBytes(ctx context.Context, key string) ([]byte, error) {
	b, err := s.do(ctx, abi.OpGet, abi.StateRequest{Key: key})
	if err != nil {
		return nil, err
	}
	e, err := abi.DecodeStateEntry(b)
	if err != nil {
		return nil, &guest.Error{Code: guest.CodeInternal, Method: s.method(abi.OpGet), Message: err.Error()}
	}
	return bytes.Clone(e.Value), nil
}

// Get reads the message stored under key into m. A key that holds
// nothing fails with CodeNotFound, a value that is not an m with
// CodeDataLoss, an m of another type than the store declares with
// CodeInvalidArgument.
func (s *Store) Get(ctx context.Context, key string, m proto.Message) error {
	if err := s.checkValue(abi.OpGet, m); err != nil {
		return err
	}
	b, err := s.GetBytes(ctx, key)
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return &guest.Error{Code: guest.CodeDataLoss, Method: s.method(abi.OpGet),
			Message: abi.NotTheValue(s.name, key, string(proto.MessageName(m)), err)}
	}
	return nil
}

// PutBytes writes value under key, whatever the key held. Bytes are
// not checked against the message the store declares, as in a guest: a
// test may store a damaged value to see how a service copes.
func (s *Store) PutBytes(ctx context.Context, key string, value []byte) error {
	_, err := s.do(ctx, abi.OpPut, abi.StateRequest{Key: key, Value: value})
	return err
}

// Put writes m under key in protobuf's wire form, whatever the key held:
// what a guest's GetMessage reads.
func (s *Store) Put(ctx context.Context, key string, m proto.Message) error {
	if err := s.checkValue(abi.OpPut, m); err != nil {
		return err
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return &guest.Error{Code: guest.CodeInvalidArgument, Method: s.method(abi.OpPut), Message: "encoding the value: " + err.Error()}
	}
	return s.PutBytes(ctx, key, b)
}

// Delete removes key's value. Deleting a key that holds nothing succeeds.
func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.do(ctx, abi.OpDelete, abi.StateRequest{Key: key})
	return err
}

// Keys returns, sorted, the keys that hold a value: all of them when
// filter is "", else those matching it ("acct.*", "acct.>"), as a guest's
// Keys does.
func (s *Store) Keys(ctx context.Context, filter string) ([]string, error) {
	b, err := s.do(ctx, abi.OpKeys, abi.StateRequest{Key: filter})
	if err != nil {
		return nil, err
	}
	keys, err := abi.DecodeKeys(b)
	if err != nil {
		return nil, &guest.Error{Code: guest.CodeInternal, Method: s.method(abi.OpKeys), Message: err.Error()}
	}
	slices.Sort(keys)
	return keys, nil
}

// Topic is a handle on one of the app's topics, from the test (App.Topic):
// it publishes messages to the topic, which its subscribers receive as if
// a service had published them, and reads the messages published to it,
// by the services and by the handle alike, in order, from the topic's
// first.
type Topic struct {
	app  *App
	name string
	ep   route.Endpoint

	// ended ends when the test that asked for the handle does: a Next
	// waiting then returns
	ended context.Context
	end   context.CancelFunc

	mu     sync.Mutex // held by NextBytes: one reader, read in order
	reader *state.TopicReader
	read   int // the messages NextBytes returned
}

// Topic returns a handle on the app's topic name (a topic block of
// parigot.hcl), to publish to it and to see what the app published. A
// topic the app does not declare fails the test, naming those it does.
// The handle stops reading when t ends.
func (a *App) Topic(t testing.TB, name string) *Topic {
	t.Helper()
	if a.engine == nil || !a.engine.Declares(abi.OpenTopic, name) {
		var names []string
		for _, tp := range a.app.Topics {
			names = append(names, tp.Name)
		}
		t.Fatalf("apptest: %s declares no topic %q (a topic block of parigot.hcl); %s", a.app.Name, name, declared("topics", names))
	}
	tp := &Topic{app: a, name: name, ep: a.engine.Endpoint(abi.OpenTopic, name)}
	tp.ended, tp.end = context.WithCancel(context.Background())
	t.Cleanup(tp.close)
	return tp
}

// Name is the topic's name in parigot.hcl.
func (p *Topic) Name() string { return p.name }

// PublishBytes publishes data to the topic, and returns once the topic
// holds it: from then on every subscription delivers it.
func (p *Topic) PublishBytes(ctx context.Context, data []byte) error {
	_, err := p.app.roundTrip(ctx, p.ep, "topic."+p.name+"/"+abi.OpPublish, abi.OpPublish, (&abi.StateRequest{Value: data}).Encode(nil))
	return err
}

// Publish publishes m in protobuf's wire form: what a subscribed method
// whose request is m's type receives, as from a guest's PublishMessage.
func (p *Topic) Publish(ctx context.Context, m proto.Message) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return &guest.Error{Code: guest.CodeInvalidArgument, Method: "topic." + p.name + "/" + abi.OpPublish, Message: "encoding the message: " + err.Error()}
	}
	return p.PublishBytes(ctx, b)
}

// NextBytes returns the next message of the topic: its first the first
// time, then each after the one the handle returned last. It waits for
// one to be published until ctx ends, and then fails with ctx's error in
// its chain.
func (p *Topic) NextBytes(ctx context.Context) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended.Err() != nil {
		return nil, fmt.Errorf("apptest: topic %s: the test that asked for this handle has ended", p.name)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(p.ended, cancel)()
	if p.reader == nil {
		r, err := p.app.engine.ReadTopic(ctx, p.name)
		if err != nil {
			return nil, fmt.Errorf("apptest: %w", err)
		}
		p.reader = r
	}
	m, err := p.reader.Next(ctx)
	if err != nil {
		after := "no message was published to it"
		if p.read > 0 {
			after = fmt.Sprintf("no message was published after the %d this handle read", p.read)
		}
		return nil, fmt.Errorf("apptest: topic %s: %s: %w", p.name, after, err)
	}
	p.read++
	return m.Data, nil
}

// Next reads the next message of the topic, as NextBytes does, into m. A
// message that is not an m fails, and the one after it is next.
func (p *Topic) Next(ctx context.Context, m proto.Message) error {
	b, err := p.NextBytes(ctx)
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("apptest: topic %s: message %d is not a %s: %w", p.name, p.read, proto.MessageName(m), err)
	}
	return nil
}

// close stops reading, when the test that asked for the handle ends.
func (p *Topic) close() {
	p.end() // a NextBytes waiting returns, and lets go of mu
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reader != nil {
		p.reader.Close()
	}
}
