package split

import (
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/abi"
)

// A service's calls through the NATS server wait in its subscription's
// pending buffer, read from the server by nats.go, until the subscription's
// handler hands each to the guest's inbox or refuses it. The handler is
// quick, but a caller that publishes faster still (a flood: a guest whose
// requires lists the service, or anyone with an app's shared NATS user)
// filled that buffer without bound, a gigabyte in seconds, and the Go
// collector's work on it stopped the guest past its budget. The buffer is
// held to the bounds of the guest's inbox (callPending), and nats.go drops
// what passes them (a slow consumer): those calls are never answered, and
// their callers get deadline exceeded. callsDropped says so.

// The replies to this process's calls through the NATS server wait in
// the same way, in the subscription to their caller's reply subjects for
// one callee (Network.inbox). Only a callee that took a call may answer
// it, once, where each guest has its own NATS user; but with an app's
// shared user, anyone may publish there, and that buffer grew without
// bound too. It is held to what the caller can be waiting for
// (replyPending), which no reply of a call in flight passes: nats.go
// drops what does, and repliesDropped says so.

// callPending returns the pending limits of a subscription to the calls of
// the guest spec serves (nil: the defaults): its inbox's bounds.
func callPending(spec *host.GuestSpec) (calls, bytes int) {
	if spec == nil {
		spec = &host.GuestSpec{}
	}
	return spec.Inbox()
}

// replyPending returns the pending limits of a subscription to the
// replies of the calls of the guest spec (nil: a caller that is no guest,
// a gateway's or a native one) to one callee. In messages, the most
// calls a guest may await (abi.MaxInFlight: a dispatch past them is
// refused), so that a reply to each fits. In bytes, the guest's inbox's
// bound, which its host holds its unread replies to already (a reply
// past it arrives as resource exhausted in its place), and one message
// of the largest the server carries beside it: more than that waiting
// ahead of the host is replies coming faster than the process hands them
// on, which calls answered once each do not do.
func replyPending(spec *host.GuestSpec) (replies, bytes int) {
	_, inbox := callPending(spec)
	return abi.MaxInFlight, inbox + MaxPayload
}

// dropQuiet is how long after a service's dropped calls were said that
// more dropped are said again.
const dropQuiet = 30 * time.Second

// dropWatch remembers when the dropped calls of each subscription were
// last said.
type dropWatch struct {
	mu   sync.Mutex
	said map[*nats.Subscription]time.Time
}

// due reports whether the calls dropped on sub are to be said now.
func (d *dropWatch) due(sub *nats.Subscription, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if last, ok := d.said[sub]; ok && now.Sub(last) < dropQuiet {
		return false
	}
	if d.said == nil {
		d.said = map[*nats.Subscription]time.Time{}
	}
	d.said[sub] = now
	return true
}

// callsDropped says that nats.go dropped calls that the NATS server sent
// on sub, over its pending limits, once per dropQuiet; it reports whether
// sub is a subscription to calls (nats.go said it was slow).
func (n *Network) callsDropped(sub *nats.Subscription) bool {
	if sub == nil {
		return false
	}
	svc, ok := strings.CutPrefix(sub.Subject, n.subj.call(""))
	if !ok {
		return false
	}
	if !n.drops.due(sub, time.Now()) {
		return true
	}
	calls, bytes := callPending(n.owner[svc])
	dropped, _ := sub.Dropped()
	n.warnf("calls to %s come from the NATS server faster than this process can take them: more than %d calls or %s (its inbox's bounds, inbox_calls and inbox_bytes in parigot.hcl) waited to be read, and %d were dropped unanswered (their callers get deadline exceeded). "+
		"A caller that floods the service does this (the NATS server's monitoring, connz, shows which connection publishes the most), or more load than its replicas take: raise replicas",
		svc, calls, manifest.FormatSize(uint64(bytes)), dropped)
	return true
}

// repliesDropped says that nats.go dropped replies that the NATS server
// sent on sub, over its pending limits, once per dropQuiet; it reports
// whether sub is a subscription to replies.
func (n *Network) repliesDropped(sub *nats.Subscription) bool {
	if sub == nil {
		return false
	}
	prefix, ok := strings.CutSuffix(sub.Subject, ".>")
	if !ok || n.subj.caller(prefix) == "" {
		return false
	}
	if !n.drops.due(sub, time.Now()) {
		return true
	}
	caller, callee := n.subj.caller(prefix), "?"
	n.mu.Lock()
	for k, p := range n.inboxes {
		if p == prefix {
			callee = k.callee
		}
	}
	n.mu.Unlock()
	replies, bytes := replyPending(host.FindGuest(n.guests, caller))
	dropped, _ := sub.Dropped()
	n.warnf("replies to %s's calls of %s come from the NATS server faster than this process can take them: more than %d replies or %s (what %s can be waiting for) waited to be read, and %d were dropped. "+
		"Calls answered once each do not do this: a peer with the app's shared NATS user that publishes on its reply subjects does (the NATS server's monitoring, connz, shows which connection publishes the most; with a NATS user per guest, --nats-seeds, a service may answer only the calls it took)",
		caller, callee, replies, manifest.FormatSize(uint64(bytes)), caller, dropped)
	return true
}
