package split

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/runtime/internal/route"
)

// A call that went through the NATS server can be given up too. The
// caller does not know which replica of the queue group took it, so its
// process publishes the ids of the calls it gave up on the service's
// given-up subject, given.<service guest>.<caller>, which every replica
// of the service hears (no queue group); the replica that holds one of
// them drops it unrun if its guest has not taken it yet, as a direct
// connection's given frame has it do (noteGiven, route.Abandoner).
//
// A call is known by its reply subject, reply.<caller>.<inbox>.<callee>.<id>
// (Network.inbox): its inbox, a random name the caller's process made
// for one caller's calls to one service, and the caller's id, unique
// among that caller's calls. A message names the inbox (headerInbox) and
// carries the ids; its subject names the caller, which the NATS server
// lets publish only under its own name, so that no guest can give up
// another's calls.
//
// The caller never waits for it: a goroutine publishes what was given up
// while there is some (Network.tellGiven), a message per caller's inbox.
// A NATS user without the permission (an operator's server configured
// for an earlier parigot) changes nothing but that: the refusal is said
// once, and the calls given up run as they did before.

// headerInbox names, on a given-up message, the inbox of the calls whose
// ids it carries: the random part of their reply subjects.
const headerInbox = "Parigot-Inbox"

// maxInbox bounds an inbox's name on a given-up message (nuid's are 22
// characters).
const maxInbox = 64

// givenNews is where the ids of given-up calls go: the service guest
// that took them, their caller, and its inbox for that service.
type givenNews struct{ callee, caller, inbox string }

// giveUpOverNATS says, soon and without waiting, to the replicas of
// callee that the call callID from gave up may have reached through the
// NATS server (see remoteService.Cancel). A caller that made no call to
// callee through the NATS server has nothing to say.
func (n *Network) giveUpOverNATS(callee string, from route.Endpoint, callID uint64) {
	if n.givenOff.Load() {
		return
	}
	n.mu.Lock()
	prefix, ok := n.inboxes[inboxKey{from, callee}]
	n.mu.Unlock()
	if !ok {
		return
	}
	key := givenNews{callee: callee, caller: from.GuestName(), inbox: prefix[strings.LastIndexByte(prefix, '.')+1:]}
	n.gmu.Lock()
	defer n.gmu.Unlock()
	if n.givenNews == nil {
		n.givenNews = map[givenNews][]uint64{}
	}
	n.givenNews[key] = append(n.givenNews[key], callID)
	if !n.givenTelling {
		n.givenTelling = true
		go n.tellGiven()
	}
}

// tellGiven publishes what was given up until none is left. A message
// that cannot be published (the connection is closing, or down with its
// buffer full) is lost: its calls run, as every call did before callers
// could give them up.
func (n *Network) tellGiven() {
	for {
		n.gmu.Lock()
		news := n.givenNews
		n.givenNews = nil
		if len(news) == 0 {
			n.givenTelling = false
			n.gmu.Unlock()
			return
		}
		n.gmu.Unlock()
		for k, ids := range news {
			if n.givenOff.Load() {
				break
			}
			m := nats.NewMsg(n.subj.given(k.callee, k.caller))
			m.Header.Set(headerInbox, k.inbox)
			m.Data = appendGiven(nil, ids)
			n.nc.PublishMsg(m)
		}
	}
}

// hearGiven has the calls that reach guest, a local service, through the
// NATS server dropped unrun when their caller says it gave them up before
// its guest took them (remoteCaller.Abandoned). Once per guest, before it
// takes calls; a subscription the server refuses is said once
// (givenRefused), and those calls run as before.
func (n *Network) hearGiven(guest string) {
	n.mu.Lock()
	if n.hearing[guest] {
		n.mu.Unlock()
		return
	}
	n.hearing[guest] = true
	n.mu.Unlock()
	prefix := n.subj.given(guest, "")
	sub, err := n.nc.Subscribe(n.subj.given(guest, "*"), func(m *nats.Msg) {
		caller := strings.TrimPrefix(m.Subject, prefix)
		inbox := m.Header.Get(headerInbox)
		if inbox == "" || len(inbox) > maxInbox || strings.ContainsAny(inbox, ".*> \t") {
			return // no inbox of a parigot caller: it names no call
		}
		n.held.note(n.subj.reply(caller)+"."+inbox+"."+guest, m.Data)
	})
	if err != nil {
		n.warnf("calls given up by their callers that come through the NATS server still run: %v", err)
		return
	}
	n.mu.Lock()
	n.subs = append(n.subs, sub)
	n.mu.Unlock()
}

// givenRefused deals with the NATS server's refusal of a given-up
// subject: said once for each way, and, for publishing, nothing more is
// published. Calls go on as before: the given-up ones run.
func (n *Network) givenRefused(pe *PermissionError) {
	said := &n.givenSubRefused
	what := "calls given up by their callers that come through the NATS server still run on its service"
	if pe.Action == "publish to" {
		n.givenOff.Store(true)
		said = &n.givenPubRefused
		what = "calls it gives up that went through the NATS server still run on their services"
	}
	if said.CompareAndSwap(false, true) {
		n.warnf("the NATS server refused to let it %s %q: %s; give its NATS user the permissions `parigot nats-config` prints for it",
			pe.Action, pe.Subject, what)
	}
}

// givenTable holds what callers said they gave up of the calls that
// reached this process's services through the NATS server: for each
// caller's inbox, the ids, in a route.GivenUp. It holds the inboxes of
// the latest maxGivenInboxes callers to give calls up; an older one's
// calls run, as every call did before callers could give them up.
type givenTable struct {
	any   atomic.Bool // something was noted: until then no call looks further
	mu    sync.Mutex
	by    map[string]*route.GivenUp // by the calls' reply subject without the id
	order []string                  // the keys of by, oldest first
}

// maxGivenInboxes bounds how many callers' inboxes a givenTable holds
// (8 KiB each).
const maxGivenInboxes = 256

// note adds the calls body names (appendGiven) to those given up of the
// inbox key: reply.<caller>.<inbox>.<callee>.
func (t *givenTable) note(key string, body []byte) {
	t.mu.Lock()
	g := t.by[key]
	if g == nil {
		if t.by == nil {
			t.by = map[string]*route.GivenUp{}
		}
		if len(t.order) == maxGivenInboxes {
			delete(t.by, t.order[0])
			t.order = slices.Delete(t.order, 0, 1)
		}
		g = new(route.GivenUp)
		t.by[key] = g
		t.order = append(t.order, key)
	}
	t.mu.Unlock()
	noteGiven(g, body)
	t.any.Store(true)
}

// has reports whether the caller of the call whose reply subject is
// reply said it gave it up. Until a caller says so of any call, it costs
// a call one atomic load.
func (t *givenTable) has(reply string) bool {
	if !t.any.Load() {
		return false
	}
	i := strings.LastIndexByte(reply, '.')
	if i < 0 {
		return false
	}
	id, err := strconv.ParseUint(reply[i+1:], 10, 64)
	if err != nil {
		return false
	}
	t.mu.Lock()
	g := t.by[reply[:i]]
	t.mu.Unlock()
	return g != nil && g.Has(id)
}
