// Package route is the contract along which a call travels between guests:
// the endpoints that take events, and the remotes that connect the guests of
// one process to those of others.
//
// The host (runtime/host) implements an Endpoint for each guest it runs;
// split mode (runtime/split) implements one for a guest in another process
// and a Remote over NATS; the topology-test harness (runtime/apptest)
// implements a native caller and an in-memory Remote. The contract is
// internal to the runtime because it changes with the transport: apps and
// tools use runtime/host's Run and runtime/split's Supervise, never this.
package route

import (
	"sync/atomic"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
)

// Refusal says whether an endpoint took an event, and if not, why.
type Refusal uint8

const (
	// Accepted: the event is on its way to the guest.
	Accepted Refusal = iota
	// Ended: the guest has ended. A refused call fails with unavailable.
	Ended
	// Full: the guest's inbox holds as many calls or bytes as its bounds
	// allow (inbox_calls, inbox_bytes). A refused call fails with
	// resource exhausted, at once.
	Full
	// Stalled: the guest would not take the call soon (it waits to start
	// again after a failure, it has not been ready since it started
	// again, or it has been busy past its method budget), and the call
	// can go to another replica of its service (Mover): only such a call
	// is refused so. Its caller sends it there.
	Stalled
)

// Endpoint is where events for one guest go: a guest in this process, a
// proxy for a guest in another process, or a native caller.
type Endpoint interface {
	// Deliver hands ev to the guest. For a call, from is where the reply
	// goes (Deliver of a KindReply with the call's id). Deliver never blocks
	// on the guest; replies are never refused for a full inbox (the
	// receiving side bounds them, see runtime/host).
	Deliver(ev abi.Event, from Endpoint) Refusal
	// GuestName is the name of the guest in parigot.hcl.
	GuestName() string
	// MethodTimeout is the guest's method budget: its callers' deadline.
	MethodTimeout() time.Duration
}

// Resource is implemented by the endpoints that are no guest: a store's,
// a topic's, an http endpoint's. Their GuestName says what they are
// ("store accounts", "http payments"), and their MethodTimeout is the
// deadline of an operation made outside any call, not a method budget.
type Resource interface {
	Endpoint
	Resource()
}

// Topic is implemented by the caller of a call that delivers a topic's
// message to a subscribed service (runtime/state's subscription): the
// call is the processing of a message, which traces show as a
// consumer's span.
type Topic interface {
	Endpoint
	// Topic is the name of the topic, as parigot.hcl declares it.
	Topic() string
}

// Mover is implemented by where the reply to a call goes (the call's
// from) when the call may still go to another replica of its service:
// split mode's direct connections, whose caller knows another replica.
// Rather than queue such a call behind a guest that would not take it
// soon, an endpoint refuses it with Stalled; one it queued and whose guest
// stalls before taking it, or ends, it hands back with Moved. Either way
// the call never reached the guest, so it runs once, wherever it goes.
type Mover interface {
	Endpoint
	// Movable reports whether the call may go to another replica.
	Movable() bool
	// Moved hands the call back to its caller, untaken: it goes to
	// another replica. It is the call's one answer from this endpoint.
	Moved()
}

// Abandoner is implemented by where the reply to a call goes (the call's
// from) when its caller may give the call up before its deadline: a
// native caller (the gateway, whose client hung up or canceled), a
// direct connection whose caller in another process said so. Such a call
// is marked abi.Event.Abandonable, and the host of its guest asks before
// the guest takes it: a call given up is dropped unrun, as one whose
// deadline passed is. A call its guest took already runs to its end.
type Abandoner interface {
	Endpoint
	// Abandoned reports whether the caller has given up the call it
	// numbered callID (the call's id as the caller delivered it).
	Abandoned(callID uint64) bool
}

// Canceller is implemented by an endpoint that can tell its guest's
// process that the caller gave up a call it delivered: split mode's
// proxy of a service in another process, which says so on the call's
// direct connection. Cancel never blocks on the other process.
type Canceller interface {
	Endpoint
	// Cancel says that from gave up its call callID before its reply
	// came: from's ctx ended, or, when expired, the call's deadline
	// passed (which a process that shares the caller's clock drops the
	// call by already).
	Cancel(callID uint64, from Endpoint, expired bool)
}

// GivenUp is a set of the ids of calls their caller gave up, for an
// Abandoner: safe from any goroutine, without a lock or an allocation.
// It remembers the last id added in each of its slots (an id's slot is
// the id modulo their number), so it holds the latest of calls numbered
// in sequence; an id it lost to a later one is a call that runs, as
// every call did before callers could give up. Ids are never 0.
type GivenUp struct {
	ids [givenUpSlots]atomic.Uint64
}

// givenUpSlots is how many given-up calls numbered in sequence a GivenUp
// holds for sure: as many as a service's inbox holds by default
// (inbox_calls), in 8 KiB.
const givenUpSlots = 1024

// Add notes that the call id was given up.
func (g *GivenUp) Add(id uint64) { g.ids[id%givenUpSlots].Store(id) }

// Has reports whether the call id was given up.
func (g *GivenUp) Has(id uint64) bool { return id != 0 && g.ids[id%givenUpSlots].Load() == id }

// Pauser is a Remote that can take a local service out of the ways calls
// reach it from other processes while it is down between two runs (it
// failed and starts again), and put it back once it is ready again, so
// that other replicas take those calls meanwhile.
type Pauser interface {
	Pause(guest string)
	Resume(guest string) error
}

// Remote connects the guests of one process to those of others.
type Remote interface {
	// Service returns an endpoint for the proto service name when a guest of
	// another process serves it, or nil.
	Service(name string) Endpoint
	// Serve is called for each local service guest before it starts: from
	// then on, calls for services (full proto names) from elsewhere go to
	// local, or, for a Remote that holds them back until then (split
	// mode's, where other replicas may serve meanwhile), from Ready on.
	Serve(guest string, services []string, local Endpoint) error
	// Ready is called once a local service guest is ready: from then on,
	// guests elsewhere that wait for it may start. An error means they
	// never could: the guest does not start.
	Ready(guest string) error
}

// StopServer is implemented by a Remote that can stop taking calls from
// other processes for the local services. StopServing returns once every
// call that reached this process has been handed to its guest, so that the
// guest can answer all of them before it stops.
type StopServer interface {
	StopServing()
}

// Grace is how long past its budget a method may run before the host acts
// on it, and before a subscription counts a delivery as failed: the budget
// again, but at least 20ms. host.Grace is this rule, for code outside the
// runtime.
func Grace(budget time.Duration) time.Duration { return max(budget, 20*time.Millisecond) }

// UnavailableText is the message of a call refused because its service has
// ended: one wording for every path that can refuse one.
func UnavailableText(guest string) string { return "service " + guest + " is not running" }

// NotTaken ends the message of a call that failed unavailable because its
// service ended while the call waited for it: the call never reached the
// method, which a retry (a topic's redelivery) may count as no attempt.
const NotTaken = ", before it took the call"

// FullText is the message of a call refused because its service's inbox is
// full.
func FullText(guest string) string {
	return "service " + guest + " is overloaded: its inbox is full (inbox_calls and inbox_bytes in parigot.hcl bound it); retry later"
}

// Refuse turns a refused call into the reply its caller gets: a reply event
// with the call's id and the code and message for why.
func Refuse(r Refusal, callID uint64, guest string) abi.Event {
	if r == Full {
		return abi.ErrorEvent(callID, abi.CodeResourceExhausted, FullText(guest))
	}
	return abi.ErrorEvent(callID, abi.CodeUnavailable, UnavailableText(guest))
}
