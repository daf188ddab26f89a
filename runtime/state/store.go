package state

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// storeEndpoint takes the operations of guests on one store.
type storeEndpoint struct {
	e       *Engine
	name    string
	value   string // the full name of the message its values are declared as, or ""
	kv      jetstream.KeyValue
	subject string // "$KV.<bucket>.": a key's subject is this and the key
	stream  string // "KV_<bucket>"
}

// GuestName implements route.Endpoint: what a deadline message names.
func (s *storeEndpoint) GuestName() string { return "store " + s.name }

// Resource implements route.Resource: a store is no guest.
func (s *storeEndpoint) Resource() {}

// MethodTimeout implements route.Endpoint.
func (s *storeEndpoint) MethodTimeout() time.Duration { return OpTimeout }

// Deliver implements route.Endpoint: it starts the operation ev.Method.
func (s *storeEndpoint) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	if ev.Kind != abi.KindCall || from == nil {
		return route.Accepted
	}
	what := "store " + s.name
	var op func(context.Context, abi.StateRequest) ([]byte, error)
	switch ev.Method {
	case abi.OpGet, abi.OpPut, abi.OpUpdate:
		req, err := abi.DecodeStateRequest(ev.Payload)
		switch {
		case err != nil:
			from.Deliver(abi.ErrorEvent(ev.CallID, abi.CodeInvalidArgument, what+": malformed request"), nil)
		case ev.Method == abi.OpGet:
			if err := checkKey(req.Key); err != nil {
				answer(from, ev, nil, err)
			} else {
				s.getAsync(ev, from, req.Key)
			}
		case ev.Method == abi.OpUpdate && req.Revision == 0:
			// "Holds nothing": a key never written, or deleted, whose
			// delete marker is its last revision, which a write expecting
			// revision 0 would be refused for. Create knows both.
			return s.e.run(ev, from, what, s.updateAtZero)
		default:
			s.writeAsync(ev, from, req, ev.Method == abi.OpUpdate)
		}
		return route.Accepted
	case abi.OpCreate:
		op = s.create
	case abi.OpDelete:
		op = s.delete
	case abi.OpKeys:
		op = s.keys
	default:
		from.Deliver(abi.ErrorEvent(ev.CallID, abi.CodeUnimplemented, what+" has no operation "+ev.Method), nil)
		return route.Accepted
	}
	return s.e.run(ev, from, what, op)
}

func (s *storeEndpoint) create(ctx context.Context, req abi.StateRequest) ([]byte, error) {
	if err := checkKey(req.Key); err != nil {
		return nil, err
	}
	if err := checkValue(req.Value); err != nil {
		return nil, err
	}
	d, err := ttl(req)
	if err != nil {
		return nil, err
	}
	var opts []jetstream.KVCreateOpt
	if d > 0 {
		opts = append(opts, jetstream.KeyTTL(d))
	}
	rev, err := s.kv.Create(ctx, req.Key, req.Value, opts...)
	if errors.Is(err, jetstream.ErrKeyExists) || wrongRevision(err) {
		return nil, failf(abi.CodeAlreadyExists, "key %q holds a value already", req.Key)
	}
	if err != nil {
		return nil, err
	}
	return abi.EncodeRevision(rev), nil
}

// updateAtZero is Update at revision 0: Create, refused as an Update is
// (aborted) when the key holds a value.
func (s *storeEndpoint) updateAtZero(ctx context.Context, req abi.StateRequest) ([]byte, error) {
	out, err := s.create(ctx, req)
	var se *stateError
	if errors.As(err, &se) && se.code == abi.CodeAlreadyExists {
		return nil, failf(abi.CodeAborted, "key %q is no longer at revision 0 (holds nothing): another write came first; read it again and retry", req.Key)
	}
	return out, err
}

func (s *storeEndpoint) delete(ctx context.Context, req abi.StateRequest) ([]byte, error) {
	if err := checkKey(req.Key); err != nil {
		return nil, err
	}
	return nil, s.kv.Delete(ctx, req.Key)
}

// keys lists the keys that hold a value, all of them or those matching
// req.Key, a NATS filter ("acct.*", "acct.>").
func (s *storeEndpoint) keys(ctx context.Context, req abi.StateRequest) ([]byte, error) {
	var (
		l   jetstream.KeyLister
		err error
	)
	switch {
	case req.Key == "":
		l, err = s.kv.ListKeys(ctx)
	case !abi.ValidKeyFilter(req.Key):
		return nil, failf(abi.CodeInvalidArgument, "%s is not a valid key filter: elements of keys, any of them * (one element), the last of them possibly > (the rest)", abi.ShowKey(req.Key))
	default:
		l, err = s.kv.ListKeysFiltered(ctx, req.Key)
	}
	if err != nil {
		return nil, err
	}
	defer l.Stop()
	var keys []string
	size := 0
	for k := range l.Keys() {
		size += 4 + len(k)
		if size > abi.MaxPayload {
			return nil, failf(abi.CodeResourceExhausted, "the keys are over %d bytes, more than a reply holds: list them by a filter", abi.MaxPayload)
		}
		keys = append(keys, k)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return abi.EncodeKeys(keys), nil
}

// wrongRevision reports the stream's refusal of a write whose expected
// revision is not the key's last.
func wrongRevision(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
