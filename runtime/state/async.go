package state

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// The operations guests make most (Get, Put, Update, Publish) are sent as
// NATS requests whose replies come to one subscription of the engine, which
// answers the guest from there: no goroutine waits per operation, and the
// reply crosses one goroutine less on its way to the guest. The rest (Create,
// Delete, Keys) use nats.go's jetstream API on a goroutine each (see run).

// requester sends requests and hands each reply, or the request's
// failure, to its callback, once.
type requester struct {
	nc     *nats.Conn
	prefix string // the reply subjects' prefix: a fresh inbox and "."
	sub    *nats.Subscription

	stop chan struct{} // closed by close: expireLoop ends

	mu      sync.Mutex
	next    uint64
	waiting map[uint64]*request
	closed  bool
}

type request struct {
	done     func(*nats.Msg, error)
	deadline time.Time
}

func newRequester(nc *nats.Conn) (*requester, error) {
	r := &requester{nc: nc, prefix: nc.NewInbox() + ".", waiting: map[uint64]*request{}, stop: make(chan struct{})}
	sub, err := nc.Subscribe(r.prefix+"*", r.reply)
	if err != nil {
		return nil, err
	}
	sub.SetPendingLimits(-1, -1) // bounded by the guests' calls in flight
	r.sub = sub
	go r.expireLoop()
	return r, nil
}

// expireInterval is how often requests past their deadline are failed. A
// guest's own poll fails its operation at the deadline already (the
// operation is a call); this only settles the request, a little later, and
// costs no timer per request.
const expireInterval = 250 * time.Millisecond

func (r *requester) expireLoop() {
	t := time.NewTicker(expireInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case now := <-t.C:
			r.mu.Lock()
			var late []*request
			for id, q := range r.waiting {
				if now.After(q.deadline) {
					late = append(late, q)
					delete(r.waiting, id)
				}
			}
			r.mu.Unlock()
			for _, q := range late {
				q.done(nil, context.DeadlineExceeded)
			}
		}
	}
}

// request publishes m with a reply subject of its own; done gets the reply,
// or context.DeadlineExceeded soon after deadline, or the publication's
// error.
func (r *requester) request(m *nats.Msg, deadline time.Time, done func(*nats.Msg, error)) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		done(nil, context.Canceled)
		return
	}
	r.next++
	id := r.next
	r.waiting[id] = &request{done: done, deadline: deadline}
	r.mu.Unlock()
	m.Reply = r.prefix + strconv.FormatUint(id, 10)
	if err := r.nc.PublishMsg(m); err != nil {
		if q := r.take(id); q != nil {
			done(nil, err)
		}
	}
}

// take removes and returns request id, or nil when it has been settled.
func (r *requester) take(id uint64) *request {
	r.mu.Lock()
	defer r.mu.Unlock()
	q := r.waiting[id]
	delete(r.waiting, id)
	return q
}

// reply settles the request a reply is for.
func (r *requester) reply(m *nats.Msg) {
	id, err := strconv.ParseUint(strings.TrimPrefix(m.Subject, r.prefix), 10, 64)
	if err != nil {
		return
	}
	q := r.take(id)
	if q == nil {
		return // after its deadline
	}
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		q.done(nil, nats.ErrNoResponders)
		return
	}
	q.done(m, nil)
}

// close fails every request still waiting with context.Canceled.
func (r *requester) close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	waiting := r.waiting
	r.waiting = map[uint64]*request{}
	r.mu.Unlock()
	close(r.stop)
	for _, q := range waiting {
		q.done(nil, context.Canceled)
	}
	r.sub.Unsubscribe()
}

// deadlineOf is when an operation of ev must be answered: its call's
// deadline, or OpTimeout from now for one that has none.
func deadlineOf(ev abi.Event) time.Time {
	if ev.Deadline > 0 {
		return time.Unix(0, ev.Deadline)
	}
	return time.Now().Add(OpTimeout)
}

// answer delivers the reply to ev: out, or err's code and message.
func answer(from route.Endpoint, ev abi.Event, out []byte, err error) {
	if err != nil {
		code, msg := codeOf(err)
		from.Deliver(abi.ErrorEvent(ev.CallID, code, msg), nil)
		return
	}
	from.Deliver(abi.Event{Kind: abi.KindReply, Code: abi.CodeOK, CallID: ev.CallID, Payload: out}, nil)
}

// pubAck is JetStream's answer to a publication.
type pubAck struct {
	Seq   uint64              `json:"seq"`
	Error *jetstream.APIError `json:"error"`
}

// publishAsync publishes m to a stream and answers ev with the sequence
// number it was stored at; onAPIError may turn the stream's refusal into
// the guest's error.
func (e *Engine) publishAsync(ev abi.Event, from route.Endpoint, m *nats.Msg, onAPIError func(*jetstream.APIError) error) {
	e.req.request(m, deadlineOf(ev), func(r *nats.Msg, err error) {
		if err != nil {
			answer(from, ev, nil, err)
			return
		}
		var ack pubAck
		if jerr := json.Unmarshal(r.Data, &ack); jerr != nil {
			answer(from, ev, nil, failf(abi.CodeInternal, "JetStream's answer to a publication is not one: %v", jerr))
			return
		}
		if ack.Error != nil {
			if onAPIError != nil {
				if err := onAPIError(ack.Error); err != nil {
					answer(from, ev, nil, err)
					return
				}
			}
			answer(from, ev, nil, ack.Error)
			return
		}
		answer(from, ev, abi.EncodeRevision(ack.Seq), nil)
	})
}

// getAsync answers ev with the latest value of key, read with JetStream's
// direct get.
func (s *storeEndpoint) getAsync(ev abi.Event, from route.Endpoint, key string) {
	m := &nats.Msg{Subject: "$JS.API.DIRECT.GET." + s.stream + "." + s.subject + key}
	s.e.req.request(m, deadlineOf(ev), func(r *nats.Msg, err error) {
		if err != nil {
			answer(from, ev, nil, err)
			return
		}
		notFound := failf(abi.CodeNotFound, "no value for key %q", key)
		if len(r.Data) == 0 && r.Header.Get("Status") != "" {
			if r.Header.Get("Status") == "404" {
				answer(from, ev, nil, notFound)
				return
			}
			answer(from, ev, nil, failf(abi.CodeInternal, "JetStream: %s %s", r.Header.Get("Status"), r.Header.Get("Description")))
			return
		}
		if op := r.Header.Get("KV-Operation"); op == "DEL" || op == "PURGE" || r.Header.Get(jetstream.MarkerReasonHeader) != "" {
			answer(from, ev, nil, notFound)
			return
		}
		rev, perr := strconv.ParseUint(r.Header.Get(jetstream.SequenceHeader), 10, 64)
		if perr != nil {
			answer(from, ev, nil, failf(abi.CodeInternal, "JetStream's answer to a read has no revision"))
			return
		}
		e := abi.StateEntry{Revision: rev, Value: r.Data}
		answer(from, ev, e.Encode(nil), nil)
	})
}

// writeAsync puts a value, with Update's check of the revision when cas.
func (s *storeEndpoint) writeAsync(ev abi.Event, from route.Endpoint, req abi.StateRequest, cas bool) {
	if err := checkKey(req.Key); err != nil {
		answer(from, ev, nil, err)
		return
	}
	if err := checkValue(req.Value); err != nil {
		answer(from, ev, nil, err)
		return
	}
	d, err := ttl(req)
	if err != nil {
		answer(from, ev, nil, err)
		return
	}
	m := &nats.Msg{Subject: s.subject + req.Key, Data: req.Value, Header: nats.Header{}}
	if cas {
		m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(req.Revision, 10))
	}
	if d > 0 {
		m.Header.Set(jetstream.MsgTTLHeader, d.String())
	}
	s.e.publishAsync(ev, from, m, func(apiErr *jetstream.APIError) error {
		if cas && wrongRevision(apiErr) {
			return failf(abi.CodeAborted, "key %q is no longer at revision %d: another write came first; read it again and retry", req.Key, req.Revision)
		}
		return nil
	})
}
