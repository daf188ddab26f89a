package apptest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/guest"
	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/internal/route"
	"parigot.dev/parigot/runtime/split"
)

// registry is the host.Remote of single mode: it keeps the endpoint of each
// service the host serves, so that native calls and the programs RunProgram
// starts (in hosts of their own) reach them in memory.
type registry struct {
	mu        sync.Mutex
	endpoints map[string]route.Endpoint // proto service name -> its guest
	ready     map[string]bool           // guest name -> ready
	changed   chan struct{}             // closed and replaced when ready changes
}

func newRegistry() *registry {
	return &registry{endpoints: map[string]route.Endpoint{}, ready: map[string]bool{}, changed: make(chan struct{})}
}

// Service implements route.Remote.
func (r *registry) Service(name string) route.Endpoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.endpoints[name]
}

// Serve implements route.Remote.
func (r *registry) Serve(_ string, services []string, local route.Endpoint) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range services {
		r.endpoints[s] = local
	}
	return nil
}

// Ready implements route.Remote.
func (r *registry) Ready(guest string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ready[guest] = true
	close(r.changed)
	r.changed = make(chan struct{})
	return nil
}

// waitReady returns once every service is ready, or the error that stopped
// them (from stopped).
func (r *registry) waitReady(ctx context.Context, services []*host.GuestSpec, stopped <-chan error) error {
	for {
		r.mu.Lock()
		missing := ""
		for _, s := range services {
			if !r.ready[s.Name] {
				missing = s.Name
				break
			}
		}
		changed := r.changed
		r.mu.Unlock()
		if missing == "" {
			return nil
		}
		select {
		case <-changed:
		case err := <-stopped:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// caller is the endpoint native calls come from: replies to them arrive in
// its Deliver and go to the waiting Call.
type caller struct {
	mu      sync.Mutex
	nextID  uint64
	waiting map[uint64]chan abi.Event
}

func newCaller() *caller { return &caller{waiting: map[uint64]chan abi.Event{}} }

// GuestName implements route.Endpoint. In split mode it is part of the NATS
// subject replies come back on.
func (c *caller) GuestName() string { return split.NativeCaller }

// MethodTimeout implements route.Endpoint; nothing calls the caller.
func (c *caller) MethodTimeout() time.Duration { return 0 }

// Deliver implements route.Endpoint: it hands a reply to its waiting call.
func (c *caller) Deliver(ev abi.Event, _ route.Endpoint) route.Refusal {
	if ev.Kind != abi.KindReply {
		return route.Accepted
	}
	c.mu.Lock()
	ch := c.waiting[ev.CallID]
	delete(c.waiting, ev.CallID)
	c.mu.Unlock()
	if ch != nil {
		ch <- ev // buffered: never blocks the host
	}
	return route.Accepted
}

// call delivers a call to callee and waits for its reply, the callee's
// method budget, or ctx, whichever comes first.
func (c *caller) call(ctx context.Context, callee route.Endpoint, method string, payload []byte) (abi.Event, error) {
	ch := make(chan abi.Event, 1)
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.waiting[id] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
	}
	// The call's deadline, which the service sees: its budget from now,
	// or ctx's deadline when that comes first (the wait on ctx below
	// covers the rest).
	budget := callee.MethodTimeout()
	deadline := time.Now().Add(budget)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	timer := time.NewTimer(budget)
	defer timer.Stop()
	ev := abi.Event{Kind: abi.KindCall, CallID: id, Deadline: deadline.UnixNano(), Method: method, Payload: payload}
	if r := callee.Deliver(ev, c); r != route.Accepted {
		forget()
		return route.Refuse(r, id, callee.GuestName()), nil
	}
	select {
	case ev := <-ch:
		return ev, nil
	case <-timer.C:
		forget()
		return abi.Event{}, &guest.Error{Code: guest.CodeDeadlineExceeded, Method: method,
			Message: fmt.Sprintf("no reply from service %s within its method budget of %s", callee.GuestName(), budget)}
	case <-ctx.Done():
		forget()
		return abi.Event{}, ctx.Err()
	}
}

// testLog writes the services' output lines to the test's log, until the
// test's cleanup closes it.
type testLog struct {
	t      testing.TB
	once   sync.Once
	sink   *lines.Sink
	mu     sync.Mutex
	buf    []byte
	closed bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return len(p), nil
	}
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.t.Log(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

// prefixed is a writer for one guest's output, whose lines it prefixes with
// the guest's label as `parigot run` does.
func (l *testLog) prefixed(label string) *lines.Writer {
	l.once.Do(func() { l.sink = lines.NewSink(l) })
	return l.sink.Writer(lines.Prefix(label, 0))
}

func (l *testLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.t.Log(string(l.buf))
	}
	l.closed = true
}
