// Package native calls an app's services from native Go, outside any guest:
// the topology-test harness (runtime/apptest) and the gateway
// (runtime/gateway) both do, with request bytes the guests decode.
//
// A native call takes the path a guest's call takes. In single mode the
// host hands each service's endpoint to a Registry (its route.Remote); in
// split mode a split.Network finds them over NATS. Either way a Caller is
// one more route.Endpoint, which receives the replies in Deliver.
//
// It is not for guests: a guest calls through runtime/guest.
package native

import (
	"context"
	"fmt"
	"sync"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// Services finds the endpoint of a proto service by its full name: a
// Registry in single mode, a split.Network in split mode.
type Services interface {
	Service(name string) route.Endpoint
}

// Prober is implemented by the Services that can tell whether a service
// takes calls now: the gateway's health service asks it.
type Prober interface {
	// Serving says whether a guest serving the proto service name is
	// ready for calls; it returns by ctx's end at the latest.
	Serving(ctx context.Context, name string) bool
}

// Registry is the route.Remote of single mode for native callers: it keeps
// the endpoint of each service the host serves, so that native calls and
// programs run in hosts of their own reach them in memory.
type Registry struct {
	mu        sync.Mutex
	endpoints map[string]route.Endpoint // proto service name -> its guest
	ready     map[string]bool           // guest name -> ready
	changed   chan struct{}             // closed and replaced when ready changes
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{endpoints: map[string]route.Endpoint{}, ready: map[string]bool{}, changed: make(chan struct{})}
}

// Service implements route.Remote.
func (r *Registry) Service(name string) route.Endpoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.endpoints[name]
}

// Serving implements Prober: the service's guest is known, and says it
// serves (a host's guest does, while it is ready and running).
func (r *Registry) Serving(_ context.Context, name string) bool {
	ep := r.Service(name)
	if ep == nil {
		return false
	}
	if s, ok := ep.(interface{ Serving() bool }); ok {
		return s.Serving()
	}
	return true
}

// Serve implements route.Remote.
func (r *Registry) Serve(_ string, services []string, local route.Endpoint) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range services {
		r.endpoints[s] = local
	}
	return nil
}

// Ready implements route.Remote.
func (r *Registry) Ready(guest string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ready[guest] = true
	close(r.changed)
	r.changed = make(chan struct{})
	return nil
}

// WaitReady returns once every guest named is ready, or the error that
// stopped them (from stopped), or ctx's error.
func (r *Registry) WaitReady(ctx context.Context, guests []string, stopped <-chan error) error {
	for {
		r.mu.Lock()
		missing := ""
		for _, g := range guests {
			if !r.ready[g] {
				missing = g
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

// Caller is the endpoint native calls come from: replies to them arrive in
// its Deliver and go to the waiting Call. One Caller serves any number of
// goroutines.
type Caller struct {
	name    string
	mu      sync.Mutex
	nextID  uint64
	waiting map[uint64]chan abi.Event
	// givenUp holds the calls whose ctx ended before their reply (a
	// gateway's client hung up): a service that has not taken one yet
	// drops it unrun (route.Abandoner).
	givenUp route.GivenUp
}

// NewCaller returns a caller named name: in split mode its NATS identity,
// part of the subjects its replies come back on.
func NewCaller(name string) *Caller { return &Caller{name: name, waiting: map[uint64]chan abi.Event{}} }

// GuestName implements route.Endpoint.
func (c *Caller) GuestName() string { return c.name }

// MethodTimeout implements route.Endpoint; nothing calls the caller.
func (c *Caller) MethodTimeout() time.Duration { return 0 }

// Abandoned implements route.Abandoner: the call id's ctx ended before
// its reply came.
func (c *Caller) Abandoned(id uint64) bool { return c.givenUp.Has(id) }

// Deliver implements route.Endpoint: it hands a reply to its waiting call.
func (c *Caller) Deliver(ev abi.Event, _ route.Endpoint) route.Refusal {
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

// DeadlineError is how a call that got no reply within its callee's
// method budget ends.
type DeadlineError struct {
	Guest  string        // the callee
	Budget time.Duration // its method_timeout
}

func (e *DeadlineError) Error() string {
	return fmt.Sprintf("no reply from service %s within its method budget of %s", e.Guest, e.Budget)
}

// Call delivers a call of method ("package.Service/Method") with payload to
// callee and waits for its reply, the callee's method budget, or ctx,
// whichever comes first. The reply may be an error reply (its Code is not
// CodeOK); a call refused at once gets the reply a guest would. The error
// is a *DeadlineError when the budget ran out, ctx's error when ctx ended.
func (c *Caller) Call(ctx context.Context, callee route.Endpoint, method string, payload []byte) (abi.Event, error) {
	return c.CallWith(ctx, CallOptions{}, callee, method, payload)
}

// CallOptions is what a call from outside the app carries besides its
// request: the span its own span is a child of, and the request headers
// a gateway passes on.
type CallOptions struct {
	// Trace, when valid, makes the callee's span a child of it (a
	// gateway's incoming request's traceparent): with tracing on, it joins
	// the caller's trace.
	Trace abi.TraceContext
	// Header is the call's header (abi.Event.Header): the request headers
	// a gateway passes on, at most abi.MaxHeader bytes; nil for none.
	Header []byte
}

// CallWith is Call of a call carrying o.
func (c *Caller) CallWith(ctx context.Context, o CallOptions, callee route.Endpoint, method string, payload []byte) (abi.Event, error) {
	w := waits.Get().(*wait)
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.waiting[id] = w.reply
	c.mu.Unlock()
	// The call's deadline, which the service sees: its budget from now,
	// or ctx's deadline when that comes first (the wait on ctx below
	// covers the rest).
	budget := callee.MethodTimeout()
	deadline := time.Now().Add(budget)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	// A call whose ctx may end before its deadline (a gateway's client
	// may hang up) may be given up: its service asks before taking it.
	ev := abi.Event{Kind: abi.KindCall, CallID: id, Deadline: deadline.UnixNano(), Method: method, Payload: payload, Trace: o.Trace, Abandonable: ctx.Done() != nil}
	ev.SetHeader(o.Header)
	if r := callee.Deliver(ev, c); r != route.Accepted {
		c.forget(id, w)
		return route.Refuse(r, id, callee.GuestName()), nil
	}
	w.timer.Reset(budget)
	select {
	case ev := <-w.reply:
		// Deliver took the channel out of waiting as it sent: nothing
		// else will send on it.
		w.timer.Stop()
		waits.Put(w)
		return ev, nil
	case <-w.timer.C:
		c.forget(id, w)
		c.giveUp(id, callee, true)
		return abi.Event{}, &DeadlineError{Guest: callee.GuestName(), Budget: budget}
	case <-ctx.Done():
		c.forget(id, w)
		c.giveUp(id, callee, ctx.Err() == context.DeadlineExceeded) // the call's deadline is ctx's then
		return abi.Event{}, ctx.Err()
	}
}

// giveUp notes that the call id to callee is given up, and tells the
// process of a callee elsewhere (route.Canceller): the call's deadline
// passed when expired, else its ctx ended.
func (c *Caller) giveUp(id uint64, callee route.Endpoint, expired bool) {
	if !expired {
		c.givenUp.Add(id) // an expired call is dropped by its deadline
	}
	if cc, ok := callee.(route.Canceller); ok {
		cc.Cancel(id, c, expired)
	}
}

// forget gives up the call id, whose reply may still come: its wait is
// not used again, since Deliver may be about to send on it.
func (c *Caller) forget(id uint64, w *wait) {
	c.mu.Lock()
	delete(c.waiting, id)
	c.mu.Unlock()
	w.timer.Stop()
}

// wait is what a call waits on: its reply and its budget's timer. The
// waits of calls that got their reply are used again, which spares a
// channel and a timer on every call.
type wait struct {
	reply chan abi.Event
	timer *time.Timer
}

var waits = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &wait{reply: make(chan abi.Event, 1), timer: t}
}}
