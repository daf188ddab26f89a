package split

import (
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/host"
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

// callPending returns the pending limits of a subscription to the calls of
// the guest spec serves (nil: the defaults): its inbox's bounds.
func callPending(spec *host.GuestSpec) (calls, bytes int) {
	if spec == nil {
		spec = &host.GuestSpec{}
	}
	return spec.Inbox()
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
