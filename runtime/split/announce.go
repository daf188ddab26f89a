package split

import (
	"time"

	"github.com/nats-io/nats.go"
)

// A caller finds the replicas of a service it calls by asking for offers
// on the service's call subject, which the queue group hands to one
// replica at random (direct_client.go). It asks until it knows as many
// as the manifest declares; but with a NATS server that other machines
// share (--nats), a service may have more replicas than that, started on
// other machines at any time, and asking for them once a second for as
// long as a caller runs cost every caller three requests a second per
// service it calls, idle or not.
//
// So a replica says when it becomes ready, and again when it is ready
// after a restart, on its guest's announcement subject,
// parigot.<app>.here.<guest>, which every caller of the guest hears (no
// queue group); the message names the replica (its directServer's id, as
// its offers do; empty for one that offers no direct connection). A
// caller that hears it looks for that replica (seek): it asks for offers
// at once and then at the discovery waits, until an offer of that replica
// arrives or seekFor has passed. A caller across machines also looks for
// seekFor after it starts, for the replicas ready before it, and once
// every safetyEvery after that: an announcement is sent once and not
// kept, so one sent while the caller was cut off from the server (or a
// replica its first asks missed, the queue group picking at random) is
// found by then.
//
// A NATS user without these subjects (an operator's server configured
// for an earlier parigot) is refused them: a caller refused the
// subscription says so once and asks every second as before
// (directClient.polling); a replica refused the publication says so once,
// and is found by its callers' asks.

// Announcements come from anyone who may publish on the subject (a
// replica of the guest; with an app's shared NATS user, any client), and
// each had its callers ask for offers at once, three requests on the
// service's call subject: a flood of announcements was three times that
// flood of requests from every caller, which filled the service's
// subscription (flood.go) and dropped its calls. So an announcement asks
// at once at most once every discoverFirst per guest (the asks at the
// discovery waits follow as before), and the replicas looked for by id
// are at most maxSought (the others are found by the same asks).

// maxSought bounds the replicas of one guest looked for by their id.
const maxSought = 64

// seekFor is how long a caller looks for a replica it heard of, or, across
// machines, for the replicas ready before it started: the discovery waits
// (discoverAfter) make it about eight rounds of requests, which the queue
// group spreads over the replicas at random.
const seekFor = 5 * time.Second

// safetyEvery is how often a caller across machines asks for offers once
// it looks for no replica (see above): a replica it missed is found within
// it, at a thirtieth of the requests a poll every second made.
const safetyEvery = 30 * time.Second

// announce says, on guest's announcement subject, that this process's
// replica of guest is ready. A refusal comes later, to the connection's
// error handler (announceRefused).
func (n *Network) announce(guest string) {
	if n.natsOnly {
		return // no offer to ask for
	}
	m := nats.NewMsg(n.subj.announce(guest))
	n.mu.Lock()
	if n.direct != nil {
		m.Data = []byte(n.direct.id)
	}
	n.mu.Unlock()
	n.nc.PublishMsg(m)
}

// hear has d look for the replicas of guest that announce themselves
// (seek), from now on until close. A subscription the server refuses is
// said when the refusal arrives (announceRefused).
func (d *directClient) hear(guest string) {
	sub, err := d.net.nc.Subscribe(d.net.subj.announce(guest), func(m *nats.Msg) {
		d.mu.Lock()
		d.seek(guest, string(m.Data))
		count := 0
		if now := time.Now(); now.Sub(d.heard[guest]) >= discoverFirst {
			d.heard[guest] = now
			count = d.toAsk(guest)
		}
		d.mu.Unlock()
		d.askFor(guest, count)
		d.wake() // and again soon, at the discovery waits
	})
	if err != nil {
		return // the connection is closed
	}
	d.net.mu.Lock()
	d.net.subs = append(d.net.subs, sub)
	d.net.mu.Unlock()
}

// announceRefused deals with the NATS server's refusal of an announcement
// subject, said once for each way: a caller refused the subscription asks
// for offers every second instead, as before announcements; a replica
// refused the publication is found when its callers ask.
func (n *Network) announceRefused(pe *PermissionError) {
	said := &n.announceSubRefused
	what := "it asks for the offers of the replicas on other machines every second instead"
	if pe.Action == "publish to" {
		said = &n.announcePubRefused
		what = "its callers on other machines find this replica only when they ask for offers, which may take until they next do"
	} else {
		n.client.refused.Store(true)
	}
	if said.CompareAndSwap(false, true) {
		n.warnf("the NATS server refused to let it %s %q: %s; give its NATS user the permissions `parigot nats-config` prints for it",
			pe.Action, pe.Subject, what)
	}
}
