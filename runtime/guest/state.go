package guest

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"parigot.dev/parigot/runtime/internal/abi"
)

// Stores and topics are declared in parigot.hcl (store "accounts" {},
// topic "transfers" {}) and kept by the host in NATS JetStream: what a
// guest puts in a store outlives the guest, the run and the host. A guest
// may open only those its uses lists. Every operation returns a future, as
// a call does, and completes on the event loop; made while a method runs,
// it inherits the call's deadline. See docs/STATE.md.

// Store is a key-value store of the app, opened with OpenStore.
type Store struct {
	name   string
	handle uint32
	// value is the full name of the proto message the store's values
	// are declared as (value in its block of parigot.hcl), or "" when it
	// declares none. The host says it at open, and the Message functions
	// refuse a message of another type.
	value string
}

// Topic is a topic of the app, opened with OpenTopic.
type Topic struct {
	name   string
	handle uint32
}

// OpenStore opens the store called name in parigot.hcl. The guest's uses
// must list it (uses = [store.<name>]). When its block declares the
// message its values are (value = "bank.v1.Account"), GetMessage,
// PutMessage, CreateMessage and UpdateMessage take no other.
func OpenStore(name string) (*Store, error) {
	h, value, err := open(abi.OpenStore|abi.OpenWithValue, "store", name)
	if err != nil {
		return nil, err
	}
	return &Store{name: name, handle: h, value: value}, nil
}

// OpenTopic opens the topic called name in parigot.hcl. The guest's uses
// must list it (uses = [topic.<name>]).
func OpenTopic(name string) (*Topic, error) {
	h, _, err := open(abi.OpenTopic, "topic", name)
	if err != nil {
		return nil, err
	}
	return &Topic{name: name, handle: h}, nil
}

// open opens the store, topic or http endpoint name, and says the message
// type its values are declared as when kind asks for it
// (abi.OpenWithValue).
func open(kind uint32, what, name string) (uint32, string, error) {
	h, value, st := hostOpen(kind, name)
	if st == abi.StatusBadArgument && kind&abi.OpenWithValue != 0 {
		// A host from before OpenWithValue, which knows no value type:
		// the store is opened as it was then, and no type is checked.
		h, value, st = hostOpen(kind&^abi.OpenWithValue, name)
	}
	switch st {
	case abi.StatusOK:
		return h, value, nil
	case abi.StatusNotUsed:
		return 0, "", &Error{Code: CodePermissionDenied, Method: what + "." + name,
			Message: fmt.Sprintf("this guest may not use %s %s: add %s.%s to its uses in parigot.hcl", what, name, what, name)}
	case abi.StatusNotFound:
		return 0, "", &Error{Code: CodeNotFound, Method: what + "." + name,
			Message: fmt.Sprintf("parigot.hcl declares no %s %q", what, name)}
	}
	return 0, "", statusError("open "+what+" "+name, st)
}

// Name is the store's name in parigot.hcl.
func (s *Store) Name() string { return s.name }

// Name is the topic's name in parigot.hcl.
func (t *Topic) Name() string { return t.name }

// Entry is a value read from a store, with its revision: a number the
// store gives each write, higher for later ones, which Update takes to
// write only over what was read.
type Entry struct {
	Key      string
	Value    []byte
	Revision uint64
}

// WriteOption changes how Put, Create and Update write.
type WriteOption func(*abi.StateRequest)

// WithTTL makes the value written expire after d (at least a second):
// then the key holds nothing, as if deleted.
func WithTTL(d time.Duration) WriteOption {
	return func(r *abi.StateRequest) { r.TTL = int64(d) }
}

// Get reads the value of key and its revision. A key that holds nothing
// fails with CodeNotFound.
//
// Keys hold only ASCII letters, digits and "-_=/."; "." separates
// elements (none empty), which Keys can filter by. Other keys fail with
// CodeInvalidArgument at once: encode them first (for example with
// base64.RawURLEncoding, whose alphabet fits).
func (s *Store) Get(key string) *Future[Entry] {
	f := NewFuture[Entry]()
	s.do(abi.OpGet, &abi.StateRequest{Key: key}).whenDone(func(b []byte, err error) {
		if err != nil {
			f.Reject(err)
			return
		}
		e, derr := abi.DecodeStateEntry(b)
		if derr != nil {
			f.Reject(&Error{Code: CodeInternal, Method: s.method(abi.OpGet), Message: derr.Error()})
			return
		}
		f.Resolve(Entry{Key: key, Value: e.Value, Revision: e.Revision})
	})
	return f
}

// Put writes value (at most 1 MiB) under key, whatever it held, and
// returns the new revision once the value is stored durably.
func (s *Store) Put(key string, value []byte, opts ...WriteOption) *Future[uint64] {
	return s.write(abi.OpPut, &abi.StateRequest{Key: key, Value: value}, opts)
}

// Create writes value under key only if the key holds nothing; otherwise
// it fails with CodeAlreadyExists.
func (s *Store) Create(key string, value []byte, opts ...WriteOption) *Future[uint64] {
	return s.write(abi.OpCreate, &abi.StateRequest{Key: key, Value: value}, opts)
}

// Update writes value under key only if the key's latest revision is
// still revision (compare-and-set); otherwise it fails with CodeAborted,
// and the caller reads the key again and retries.
func (s *Store) Update(key string, value []byte, revision uint64, opts ...WriteOption) *Future[uint64] {
	return s.write(abi.OpUpdate, &abi.StateRequest{Key: key, Value: value, Revision: revision}, opts)
}

// Delete removes key's value. Deleting a key that holds nothing succeeds.
func (s *Store) Delete(key string) *Future[struct{}] {
	f := NewFuture[struct{}]()
	s.do(abi.OpDelete, &abi.StateRequest{Key: key}).whenDone(func(_ []byte, err error) {
		if err != nil {
			f.Reject(err)
			return
		}
		f.Resolve(struct{}{})
	})
	return f
}

// Keys lists the keys that hold a value: all of them when filter is "",
// else those matching it, where "*" stands for one element and a final
// ">" for one or more ("acct.*", "acct.>"). The list must fit a reply
// (4 MiB); a store with more keys is listed by filters.
func (s *Store) Keys(filter string) *Future[[]string] {
	f := NewFuture[[]string]()
	s.do(abi.OpKeys, &abi.StateRequest{Key: filter}).whenDone(func(b []byte, err error) {
		if err != nil {
			f.Reject(err)
			return
		}
		keys, derr := abi.DecodeKeys(b)
		if derr != nil {
			f.Reject(&Error{Code: CodeInternal, Method: s.method(abi.OpKeys), Message: derr.Error()})
			return
		}
		f.Resolve(keys)
	})
	return f
}

func (s *Store) method(op string) string { return loop.fullName("store."+s.name, op) }

func (s *Store) write(op string, req *abi.StateRequest, opts []WriteOption) *Future[uint64] {
	for _, o := range opts {
		o(req)
	}
	if len(req.Value) > abi.MaxValue {
		return Rejected[uint64](&Error{Code: CodeResourceExhausted, Method: s.method(op),
			Message: fmt.Sprintf("a value of %d bytes is over the limit of %d bytes (1 MiB); keep large data elsewhere and store its name", len(req.Value), abi.MaxValue)})
	}
	return revision(s.method(op), s.do(op, req))
}

func (s *Store) do(op string, req *abi.StateRequest) *Future[[]byte] {
	if op != abi.OpKeys && !abi.ValidKey(req.Key) {
		return Rejected[[]byte](&Error{Code: CodeInvalidArgument, Method: s.method(op),
			Message: fmt.Sprintf("%s is not a valid key: keys hold only ASCII letters, digits and -_=/. (a dot separates elements, none of them empty), at most %d bytes; encode other keys, for example with base64.RawURLEncoding", abi.ShowKey(req.Key), abi.MaxKey)})
	}
	if op == abi.OpKeys && req.Key != "" && !abi.ValidKeyFilter(req.Key) {
		return Rejected[[]byte](&Error{Code: CodeInvalidArgument, Method: s.method(op),
			Message: fmt.Sprintf("%s is not a valid key filter: elements of keys, any of them * (one element), the last of them possibly > (the rest)", abi.ShowKey(req.Key))})
	}
	return stateCall(s.handle, s.method(op), op, req)
}

// Publish adds data (at most 1 MiB) to the topic. Its future succeeds,
// with the message's sequence number in the topic, once the message is
// stored durably: from then on every subscription will deliver it.
func (t *Topic) Publish(data []byte) *Future[uint64] {
	method := loop.fullName("topic."+t.name, abi.OpPublish)
	if len(data) > abi.MaxValue {
		return Rejected[uint64](&Error{Code: CodeResourceExhausted, Method: method,
			Message: fmt.Sprintf("a message of %d bytes is over the limit of %d bytes (1 MiB)", len(data), abi.MaxValue)})
	}
	return revision(method, stateCall(t.handle, method, abi.OpPublish, &abi.StateRequest{Value: data}))
}

// PublishMessage publishes m in protobuf's wire form: what a subscribed
// method whose request is m's type receives.
func (t *Topic) PublishMessage(m proto.Message) *Future[uint64] {
	b, err := marshalAppend(nil, m)
	if err != nil {
		return Rejected[uint64](&Error{Code: CodeInvalidArgument, Method: "topic." + t.name + "/" + abi.OpPublish, Message: "encoding the message: " + err.Error()})
	}
	return t.Publish(b)
}

// MessageEntry is a proto message read from a store, with its revision.
type MessageEntry[M proto.Message] struct {
	Value    M
	Revision uint64
}

// GetMessage reads the message stored under key into m. When the store
// declares its values' message (value in parigot.hcl), an m of another
// type fails with CodeInvalidArgument at once.
func GetMessage[M proto.Message](s *Store, key string, m M) *Future[MessageEntry[M]] {
	if err := s.checkValue(abi.OpGet, m); err != nil {
		return Rejected[MessageEntry[M]](err)
	}
	f := NewFuture[MessageEntry[M]]()
	s.Get(key).whenDone(func(e Entry, err error) {
		if err != nil {
			f.Reject(err)
			return
		}
		me, err := decodeEntry(s, key, e, m)
		if err != nil {
			f.Reject(err)
			return
		}
		f.Resolve(me)
	})
	return f
}

// decodeEntry reads e, the value of key in s, into m. A value that is not
// an m fails with CodeDataLoss, naming the store and key, so that the
// error still says where to look once a caller up the chain has it.
func decodeEntry[M proto.Message](s *Store, key string, e Entry, m M) (MessageEntry[M], error) {
	if err := unmarshal(e.Value, m); err != nil {
		return MessageEntry[M]{}, &Error{Code: CodeDataLoss, Method: s.method(abi.OpGet),
			Message: abi.NotTheValue(s.name, key, string(m.ProtoReflect().Descriptor().FullName()), err)}
	}
	return MessageEntry[M]{Value: m, Revision: e.Revision}, nil
}

// PutMessage stores m under key in protobuf's wire form. When the store
// declares its values' message (value in parigot.hcl), an m of another
// type fails with CodeInvalidArgument at once, as it does in
// CreateMessage and UpdateMessage.
func PutMessage(s *Store, key string, m proto.Message, opts ...WriteOption) *Future[uint64] {
	b, err := s.encodeValue(abi.OpPut, m)
	if err != nil {
		return Rejected[uint64](err)
	}
	return s.Put(key, b, opts...)
}

// CreateMessage stores m under key if the key holds nothing.
func CreateMessage(s *Store, key string, m proto.Message, opts ...WriteOption) *Future[uint64] {
	b, err := s.encodeValue(abi.OpCreate, m)
	if err != nil {
		return Rejected[uint64](err)
	}
	return s.Create(key, b, opts...)
}

// UpdateMessage stores m under key if its revision is still revision.
func UpdateMessage(s *Store, key string, m proto.Message, revision uint64, opts ...WriteOption) *Future[uint64] {
	b, err := s.encodeValue(abi.OpUpdate, m)
	if err != nil {
		return Rejected[uint64](err)
	}
	return s.Update(key, b, revision, opts...)
}

// encodeValue returns m in protobuf's wire form, for op to store in s, or
// why it may not be stored.
func (s *Store) encodeValue(op string, m proto.Message) ([]byte, error) {
	if err := s.checkValue(op, m); err != nil {
		return nil, err
	}
	b, err := marshalAppend(nil, m)
	if err != nil {
		return nil, &Error{Code: CodeInvalidArgument, Method: s.method(op), Message: "encoding the value: " + err.Error()}
	}
	return b, nil
}

// checkValue refuses m, given to op, when the store declares its values
// another message (value in parigot.hcl): stored, it would be bytes of
// another shape, which readers of the store, parigot state get among
// them, take for a damaged value. A store that declares none takes any
// message. The code is CodeInvalidArgument, as for a bad key: the
// argument is wrong whatever the store holds, and the call never
// reaches the store (CodeFailedPrecondition would say that the store is
// in a state to be fixed first). It costs a comparison of two strings.
func (s *Store) checkValue(op string, m proto.Message) error {
	if s.value == "" {
		return nil
	}
	if why := abi.WrongValue(s.name, s.value, string(proto.MessageName(m))); why != "" {
		return &Error{Code: CodeInvalidArgument, Method: s.method(op), Message: why}
	}
	return nil
}

// revision turns the reply of a write or a publication into its revision.
func revision(method string, f *Future[[]byte]) *Future[uint64] {
	out := NewFuture[uint64]()
	f.whenDone(func(b []byte, err error) {
		if err != nil {
			out.Reject(err)
			return
		}
		rev, derr := abi.DecodeRevision(b)
		if derr != nil {
			out.Reject(&Error{Code: CodeInternal, Method: method, Message: derr.Error()})
			return
		}
		out.Resolve(rev)
	})
	return out
}

// stateCall dispatches one operation on a store's or topic's handle, as a
// call: its reply comes through poll, under the loop's current deadline.
func stateCall(handle uint32, method, op string, req *abi.StateRequest) *Future[[]byte] {
	// The host copies the request during dispatch, so the call buffer
	// serves here too.
	return handleCall(handle, method, op, req.Encode(loop.send[:0]))
}

// handleCall dispatches op, with the request in (encoded into loop.send's
// array, or a larger one), on the handle of a store, topic or http
// endpoint, as a call: its reply comes through poll, under the loop's
// current deadline.
func handleCall(handle uint32, method, op string, in []byte) *Future[[]byte] {
	f := NewFuture[[]byte]()
	if cap(in) <= keptBuffer {
		loop.send = in[:0]
	} else {
		loop.letGoOfLarge()
	}
	id, st := hostDispatch(handle, op, in, loop.deadline)
	if st != abi.StatusOK {
		code := CodeInternal
		switch st {
		case abi.StatusShutdown:
			code = CodeUnavailable
		case abi.StatusTooLarge, abi.StatusTooManyCalls:
			code = CodeResourceExhausted
		case abi.StatusNoHost:
			code = CodeUnavailable
		}
		f.Reject(&Error{Code: code, Method: method, Message: st.String()})
		return f
	}
	loop.pending.add(id, pendingCall{deadline: loop.deadline, done: replyFunc(func(ev *abi.Event) {
		if ev.Code != abi.CodeOK {
			f.Reject(replyError(method, ev.Code, ev.Payload))
			return
		}
		// The payload is in the poll buffer, which the next event reuses.
		f.Resolve(append([]byte(nil), ev.Payload...))
	})})
	return f
}
