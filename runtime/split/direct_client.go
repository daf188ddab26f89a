package split

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// The calling side of direct connections; see direct.go.

// directClient is the calling side, one per Network: the replicas it
// knows for each guest, each with its connection, taken in turn.
type directClient struct {
	net   *Network
	sent  atomic.Int64 // calls sent over direct connections
	asked atomic.Int64 // requests for offers sent
	moved atomic.Int64 // calls a replica handed back untaken, sent again elsewhere
	kept  atomic.Int64 // payload bytes of movable calls in flight (maxKept)

	mu     sync.Mutex
	peers  map[string]*peerSet // guest -> its replicas
	wanted map[string]bool     // guests whose replicas are looked for again and again
	inbox  string              // where offers answering a broadcast arrive; "" until subscribed
	done   chan struct{}       // closed by close
	closed bool
	// nudge has rediscover ask for offers again soon (wake): a connection
	// broke, or a replica announced itself.
	nudge chan struct{}
	// seeking holds, for each guest, the replicas looked for (announce.go)
	// and until when: those that announced themselves, by id, and ""
	// for those ready before this process started, across machines.
	seeking map[string]map[string]time.Time
	// heard holds, for each guest, when an announcement last had this
	// caller ask for offers at once (announce.go).
	heard map[string]time.Time
	// refused is set once the NATS server refused the subscription to
	// announcements: across machines, offers are asked for every second
	// instead (polling).
	refused atomic.Bool
	// seekSpan and safetySpan are seekFor and safetyEvery, but in tests
	// that must not wait that long.
	seekSpan, safetySpan time.Duration
	// otherSaid: the replicas of another version of the direct protocol
	// said to be called through the NATS server (see connect).
	otherSaid saidOnce
	// builtSaid: the replicas, and their services, said to be built from
	// other sources (see compareBuilds).
	builtSaid saidOnce
}

// peerSet is the replicas of one guest with a direct connection.
type peerSet struct {
	conns []*clientConn
	next  int
	known map[string]bool // replicas connected or being connected
	// down: a replica's connection broke and no replica has been
	// connected, or answered a request for an offer, since. Calls fail at
	// once with unavailable rather than go through the NATS server (see
	// lost).
	down bool
}

func newDirectClient(n *Network) *directClient {
	return &directClient{net: n, peers: map[string]*peerSet{}, wanted: map[string]bool{}, seeking: map[string]map[string]time.Time{},
		heard: map[string]time.Time{}, seekSpan: seekFor, safetySpan: safetyEvery, done: make(chan struct{}), nudge: make(chan struct{}, 1)}
}

func (d *directClient) set(guest string) *peerSet {
	p := d.peers[guest]
	if p == nil {
		p = &peerSet{known: map[string]bool{}}
		d.peers[guest] = p
	}
	return p
}

// pick is the next replica of guest in turn that a call goes to, among
// those it has not been to yet (tried): one that is not resting (it
// handed back a call lately, or has been quiet: clientConn.resting) when
// there is one. It is nil when none
// is left; more reports whether another would be left for the call, were
// this one to hand it back.
func (d *directClient) pick(guest string, tried []*clientConn) (cc *clientConn, more bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.peers[guest]
	if p == nil || len(p.conns) == 0 {
		return nil, false
	}
	n := len(p.conns)
	if n == 1 && len(tried) == 0 {
		p.next = 0
		return p.conns[0], false
	}
	var now int64 // read once a replica has paused
	chosen, paused, left := -1, -1, 0
	for i := 1; i <= n; i++ {
		at := (p.next + i) % n
		c := p.conns[at]
		if slices.Contains(tried, c) {
			continue
		}
		left++
		if chosen >= 0 {
			continue
		}
		if c.resting(&now) {
			if paused < 0 {
				paused = at
			}
			continue
		}
		chosen = at
	}
	if chosen < 0 {
		chosen = paused // every replica left paused: the call tries one all the same
	}
	if chosen < 0 {
		return nil, false
	}
	p.next = chosen
	return p.conns[chosen], left > 1
}

// maxKept bounds the payload bytes a process keeps of its movable calls in
// flight, to send them again should their replica hand them back: as much
// as one service's inbox holds by default (inbox_bytes). A call beyond it
// is sent not movable, as a call to a single replica is.
const maxKept = 64 << 20

// keep reserves n bytes of maxKept for a movable call; false when they
// would go past it.
func (d *directClient) keep(n int) bool {
	if d.kept.Add(int64(n)) > maxKept {
		d.kept.Add(-int64(n))
		return false
	}
	return true
}

// pauseFor is how long a caller passes over a replica that handed back
// one of its calls, unless no other is left: its service's method budget
// (a stuck method is stopped after about twice that), from 10ms to a
// second; then the replica takes calls again, or hands the next back.
func pauseFor(budget time.Duration) time.Duration {
	return min(max(budget, 10*time.Millisecond), time.Second)
}

// quietAfter is how long a replica may send nothing back, once a call
// went to it, before its callers take it for stopped: its method budget
// and the grace after it, by when the replica has answered the call, or
// handed it back, or its host has stopped the method that held it (see
// route.Grace). A replica that only took a while is passed over for one
// pause (pauseFor), which costs nothing but its share of the calls
// meanwhile.
func quietAfter(budget time.Duration) time.Duration {
	return budget + route.Grace(budget)
}

// askFor asks count replicas of guest, through the NATS server, for an
// offer: requests on the call subject of its first service, which the
// queue group spreads over them; the offers arrive at the caller's
// direct inbox.
func (d *directClient) askFor(guest string, count int) {
	subject := d.subject(guest)
	if subject == "" {
		return
	}
	for range count {
		m := nats.NewMsg(subject)
		// A reply subject of its own for each request: a replica may
		// answer each subject once (allow_responses).
		m.Reply = d.inbox + guest + "." + nuid.Next()
		d.offerRequest(m)
		d.net.nc.PublishMsg(m)
		d.asked.Add(1)
	}
}

// subject is where offers of guest are asked for: the call subject of its
// first service; "" when it serves none.
func (d *directClient) subject(guest string) string {
	spec := host.FindGuest(d.net.guests, guest)
	if spec == nil || len(spec.Implements) == 0 {
		return ""
	}
	return d.net.subj.call(spec.Implements[0])
}

// first connects to the replica of guest that answers first, before the
// guest that calls it starts, and goes on looking for the others. A
// refused request ends ctx (see runChild); any other failure leaves the
// calls on NATS.
func (d *directClient) first(ctx context.Context, guest string) error {
	subject := d.subject(guest)
	if d.net.natsOnly || subject == "" {
		return nil
	}
	m := nats.NewMsg(subject)
	d.offerRequest(m)
	rctx, cancel := context.WithTimeout(ctx, offerTimeout)
	reply, err := d.net.nc.RequestMsgWithContext(rctx, m)
	cancel()
	d.asked.Add(1)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil {
		d.connect(guest, reply.Data)
	}
	d.want(guest)
	return nil
}

// offerTimeout bounds the wait for the first offer: a replica that is
// ready answers at once.
const offerTimeout = 5 * time.Second

// offerRequest makes m a request for an offer, which says the direct
// protocol's version this process speaks (as version 1 asked, without
// one, in a test's process of version 1).
func (d *directClient) offerRequest(m *nats.Msg) {
	m.Header.Set(headerDirect, "offer")
	if d.net.version != 1 {
		m.Header.Set(headerDirectVersion, strconv.Itoa(d.net.version))
	}
}

// connect dials the replica of guest an offer describes, when it is not
// known yet: its socket when it is on this machine, else its TCP address
// when it has one. It says hello, and once the replica welcomes it adds
// it to the replicas calls go to. guest is the one the request was for:
// an offer that names another is not believed. A replica of another
// version of the direct protocol is not dialed: its calls go through the
// NATS server, which is said once. The error says why not, when it
// tried: a *RefusedError when the replica refused the hello.
func (d *directClient) connect(guest string, data []byte) error {
	var o directOffer
	if json.Unmarshal(data, &o) != nil || o.Guest != guest || o.Who != d.net.who {
		return nil // no offer for this caller: NATS it is
	}
	d.found(guest, o.Replica)
	d.compareBuilds(o)
	if v := o.version(); v != d.net.version {
		d.otherVersion(o, v)
		return nil
	}
	network, addr := "unix", o.Addr
	if o.Machine != d.net.machine {
		network, addr = "tcp", o.TCP // over TLS, see dialReplica
	}
	if addr == "" {
		return nil // no way to this replica from here: NATS it is
	}
	d.mu.Lock()
	p := d.set(o.Guest)
	if d.closed || p.known[o.Replica] {
		d.mu.Unlock()
		return nil
	}
	p.known[o.Replica] = true
	d.mu.Unlock()
	cc, r, err := dialReplica(network, addr, o, d.net.version)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil || d.closed {
		delete(p.known, o.Replica) // another offer may try again
		if cc != nil {
			cc.c.Close()
		}
		return err
	}
	cc.client = d
	if spec := host.FindGuest(d.net.guests, guest); spec != nil {
		cc.budget = spec.MethodTimeout
	}
	p.conns = append(p.conns, cc)
	p.down = false
	go cc.read(r)
	return nil
}

// otherVersion says, once for each replica (each of its guest, for
// replicas of version 1, which name none), that the replica o describes
// speaks version v of the direct protocol, and is called through the
// NATS server.
func (d *directClient) otherVersion(o directOffer, v int) {
	replica := replicaName(o)
	key := replica + "/" + strconv.Itoa(v)
	if d.otherSaid.first(key) {
		d.net.warnf("%s: its calls go through the NATS server", speaksOther(replica, v, d.net.version))
	}
}

// RefusedError is a replica's refusal of a caller's hello.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return e.Reason }

// dialReplica connects to the replica o describes, at addr on network,
// and says hello, of the direct protocol's version: the connection once
// the replica welcomed it, and the reader of its frames. Over TCP, the
// connection is TLS, with the certificate the offer names (dialPinned).
func dialReplica(network, addr string, o directOffer, version int) (*clientConn, *bufio.Reader, error) {
	var c net.Conn
	var err error
	if network == "tcp" {
		c, err = dialPinned(addr, o.TCPCert, offerTimeout)
	} else {
		c, err = net.DialTimeout(network, addr, offerTimeout)
	}
	if err != nil {
		return nil, nil, err
	}
	cc := &clientConn{guest: o.Guest, replica: o.Replica, local: network == "unix", c: c, w: frameWriter{bufio.NewWriterSize(c, 32<<10)}, pending: map[uint64]pendingCall{}}
	r := bufio.NewReaderSize(c, 32<<10)
	c.SetDeadline(time.Now().Add(offerTimeout))
	err = cc.w.hello(version, o.Guest, o.Who, o.Token)
	var kind frameKind
	var body []byte
	if err == nil {
		kind, body, err = readFrame(r)
	}
	switch {
	case err != nil:
	case kind == frameRefused:
		err = &RefusedError{Reason: string(body)}
	case kind != frameWelcome:
		err = errFrame
	}
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	c.SetDeadline(time.Time{})
	return cc, r, nil
}

// drop takes cc out of the replicas calls go to.
func (d *directClient) drop(cc *clientConn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dropLocked(cc)
}

func (d *directClient) dropLocked(cc *clientConn) *peerSet {
	p := d.peers[cc.guest]
	if p == nil {
		return nil
	}
	for i, c := range p.conns {
		if c == cc {
			p.conns = append(p.conns[:i:i], p.conns[i+1:]...)
			break
		}
	}
	delete(p.known, cc.replica)
	return p
}

// lost takes cc, whose connection broke (its replica's process died, or
// stopped reading), out of the replicas calls go to. When it was the last
// one, the guest is down to this caller: its calls fail at once with
// unavailable, as the NATS server answers them while no replica serves,
// instead of going through the server, which learns of a process's death
// on its own, moments after its callers do, and sends the calls it takes
// meanwhile to the dead process, where no one answers them: they would
// wait for their deadline. So would a call over NATS to the replica that
// starts again, were it killed before the caller connects to it. Offers
// are asked for soon and often (rediscover) until a replica is connected
// again, or one answers without a way to connect (it serves over NATS
// only: another machine, say). A TCP connection to another machine that
// breaks may be the network's doing, while the replica still serves over
// NATS: its calls go through the server, as before.
func (d *directClient) lost(cc *clientConn) {
	d.mu.Lock()
	if p := d.dropLocked(cc); p != nil && len(p.conns) == 0 && cc.local && !d.closed {
		p.down = true
	}
	d.mu.Unlock()
	d.wake()
}

// wake has rediscover ask for offers at its shortest wait from now on.
func (d *directClient) wake() {
	select {
	case d.nudge <- struct{}{}:
	default: // one is pending already
	}
}

// down reports whether guest is down to this caller (see lost).
func (d *directClient) down(guest string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.peers[guest]
	return p != nil && p.down
}

// answered notes that a replica of guest answered a request for an offer,
// and was connected to or not: it serves, so its calls may go through
// NATS again when no direct connection is made.
func (d *directClient) answered(guest string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p := d.peers[guest]; p != nil {
		p.down = false
	}
}

// discoverEvery is how often a caller asks again for offers while it
// knows fewer replicas of a service than the manifest declares (replicas
// that started since, or that run on another machine), or looks for one
// that announced itself (toAsk, announce.go), once it has asked at
// discoverFirst, and at twice the wait each time after that: the
// replicas of an app that starts become ready within moments of each
// other, and until a caller knows one, the others take none of its
// calls.
const (
	discoverEvery = time.Second
	discoverFirst = 100 * time.Millisecond
)

// discoverAfter is the wait before the next ask for offers after one
// that came wait after its own (see discoverEvery).
func discoverAfter(wait time.Duration) time.Duration {
	return min(2*wait, discoverEvery)
}

// missing is how many replicas of guest the manifest declares beyond
// those connected.
func (d *directClient) missing(guest string) int {
	want := 1
	if spec := host.FindGuest(d.net.guests, guest); spec != nil {
		want = max(spec.Replicas, 1)
	}
	have := 0
	if p := d.peers[guest]; p != nil {
		have = len(p.conns)
	}
	return max(want-have, 0)
}

// offerRequests is how many requests for offers look for missing
// replicas: twice as many, and one more, since the queue group picks a
// replica at random for each; none when none is missing.
func offerRequests(missing int) int {
	if missing <= 0 {
		return 0
	}
	return 2*missing + 1
}

// toAsk is how many requests for offers the next look for the replicas of
// guest sends (offerRequests): for those the manifest declares beyond the
// ones known and, while it looks for a replica that announced itself, or
// across machines (Network.AcrossMachines) where announcements are
// refused (polling), for one more at least. d.mu is held.
func (d *directClient) toAsk(guest string) int {
	missing := d.missing(guest)
	if d.looking(guest) || d.polling() {
		missing = max(missing, 1)
	}
	return offerRequests(missing)
}

// polling reports whether offers are asked for every second for as long
// as this process runs: across machines, where the server refused the
// announcements that say when to (announce.go).
func (d *directClient) polling() bool { return d.net.acrossMachines && d.refused.Load() }

// seek looks for the replica of guest whose id is replica ("": any
// replica not known yet) for seekFor (seekSpan) from now. d.mu is held.
func (d *directClient) seek(guest, replica string) {
	s := d.seeking[guest]
	if s == nil {
		s = map[string]time.Time{}
		d.seeking[guest] = s
	}
	if _, ok := s[replica]; !ok && len(s) >= maxSought {
		return // looked for by the asks for those already sought
	}
	s[replica] = time.Now().Add(d.seekSpan)
}

// looking reports whether a replica of guest is looked for still (seek),
// forgetting those looked for long enough. d.mu is held.
func (d *directClient) looking(guest string) bool {
	now := time.Now()
	s := d.seeking[guest]
	maps.DeleteFunc(s, func(_ string, until time.Time) bool { return now.After(until) })
	return len(s) > 0
}

// found notes that the replica of guest whose id is replica made an
// offer: it is looked for no more.
func (d *directClient) found(guest, replica string) {
	d.mu.Lock()
	delete(d.seeking[guest], replica)
	d.mu.Unlock()
}

// want looks for the replicas of guest not yet known, now and every
// discoverEvery, until close (see offerRequests), and for those that
// announce themselves (announce.go).
func (d *directClient) want(guest string) {
	d.mu.Lock()
	if d.closed || d.wanted[guest] {
		d.mu.Unlock()
		return
	}
	d.wanted[guest] = true
	first := d.inbox == ""
	if first {
		d.inbox = d.net.subj.inbox(d.net.who) + ".direct."
	}
	d.mu.Unlock()
	if first {
		// Reply subjects name the guest asked about: a replica may answer
		// only the request it received, so an offer on a guest's subject
		// comes from a replica of that guest.
		sub, err := d.net.nc.Subscribe(d.inbox+">", func(m *nats.Msg) {
			if m.Header.Get(headerStatus) != "" {
				return // the server's "no responders": no replica is ready
			}
			guest, _, _ := strings.Cut(strings.TrimPrefix(m.Subject, d.inbox), ".")
			d.connect(guest, m.Data)
			d.answered(guest)
		})
		if err != nil {
			return
		}
		d.net.mu.Lock()
		d.net.subs = append(d.net.subs, sub)
		d.net.mu.Unlock()
		go d.rediscover()
	}
	d.hear(guest)
	d.mu.Lock()
	if d.net.acrossMachines {
		d.seek(guest, "") // those ready before this process
	}
	count := d.toAsk(guest)
	d.mu.Unlock()
	d.askFor(guest, count)
}

func (d *directClient) rediscover() {
	wait := discoverFirst
	t := time.NewTimer(wait)
	defer t.Stop()
	safe := time.Now() // the last ask across machines for a replica missed (safetyEvery)
	for {
		select {
		case <-d.done:
			return
		case <-d.nudge: // a connection broke, or a replica announced itself
			wait = discoverFirst
			t.Reset(wait)
			continue
		case <-t.C:
		}
		asks := map[string]int{}
		down := false
		now := time.Now()
		safety := d.net.acrossMachines && now.Sub(safe) >= d.safetySpan
		if safety {
			safe = now
		}
		d.mu.Lock()
		for g := range d.wanted {
			n := d.toAsk(g)
			if safety {
				n = max(n, offerRequests(1))
			}
			if n > 0 {
				asks[g] = n
			}
			if p := d.peers[g]; p != nil && p.down {
				down = true
			}
		}
		d.mu.Unlock()
		// While a guest is down its calls fail: its replica that starts
		// again is looked for at the shortest wait.
		wait = discoverAfter(wait)
		if down {
			wait = discoverFirst
		}
		t.Reset(wait)
		for g, count := range asks {
			d.askFor(g, count)
		}
	}
}

// close ends every direct connection; their calls fail with unavailable.
func (d *directClient) close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	close(d.done)
	var conns []*clientConn
	for _, p := range d.peers {
		conns = append(conns, p.conns...)
	}
	d.mu.Unlock()
	for _, c := range conns {
		c.c.Close()
	}
}

// clientConn is a direct connection to one replica.
type clientConn struct {
	client  *directClient
	guest   string
	replica string
	local   bool // over a Unix socket: the replica's process is on this machine
	c       net.Conn

	wmu      sync.Mutex
	w        frameWriter
	draining atomic.Bool // the replica sent a goaway: no new calls (set with wmu held)

	// pausedUntil is when the replica may take calls again (Unix ns),
	// after it handed one back or was found quiet: pick passes over it
	// until then. 0: never.
	pausedUntil atomic.Int64
	// unheardSince is when a call went to the replica that no frame of
	// any kind came back after (Unix ns): the first call since the last
	// frame. 0: a frame came after every call so far. See resting.
	unheardSince atomic.Int64
	budget       time.Duration // the method budget of the replica's guest (quietAfter)

	mu      sync.Mutex
	seq     uint64
	pending map[uint64]pendingCall // by the connection's own call ids
	dead    bool
	// givenUp are the ids of calls given up that the replica has not
	// been told of yet; telling is set while a goroutine tells it (tell).
	givenUp []uint64
	telling bool
}

// pendingCall is a call in flight on a direct connection: who made it,
// under what id, and, for a movable call, what it takes to send it again.
type pendingCall struct {
	from route.Endpoint
	id   uint64
	move *moving // nil: not movable
}

// moving is what a movable call needs to go to another replica: where it
// goes, the call itself, and the replicas it has been to.
type moving struct {
	svc   *remoteService
	ev    abi.Event
	tried []*clientConn
}

var errDraining = errors.New("the replica is draining")

// call sends ev from from, movable when move is set (see moving). It
// reports false when the call was not sent and has not completed, so that
// it may go another way.
func (cc *clientConn) call(ev abi.Event, from route.Endpoint, move *moving) bool {
	cc.mu.Lock()
	if cc.dead {
		cc.mu.Unlock()
		cc.client.settle(pendingCall{move: move})
		return false
	}
	cc.seq++
	id := cc.seq
	cc.pending[id] = pendingCall{from, ev.CallID, move}
	cc.mu.Unlock()
	var timeout int64
	now := time.Now().UnixNano()
	// Noted before the write, so that the reply, which cannot come before
	// it, always clears it.
	cc.unheardSince.CompareAndSwap(0, now)
	if ev.Deadline > 0 {
		timeout = max(ev.Deadline-now, 1)
	}
	tp := ""
	if ev.Trace.Valid() {
		tp = ev.Trace.Traceparent()
	}
	cc.wmu.Lock()
	err := errDraining
	if !cc.draining.Load() {
		// The call's guest waits here for the write: a replica that
		// stops reading (a stopped or hostile process) must not hold it
		// past the call's deadline, when its answer is due anyway.
		// Counted from now, once the connection is this call's to
		// write: the calls of a burst wait their turn for it, and on a
		// loaded machine for a processor too, and a bound counted from
		// before had a call's write time out before it began, and close
		// the connection and fail every call in flight on it.
		cc.c.SetWriteDeadline(time.Now().Add(writeBound(timeout)))
		err = cc.w.call(id, timeout, now, ev.Method, tp, ev.Header(), ev.Payload, move != nil)
		cc.c.SetWriteDeadline(time.Time{}) // none for the connection's other frames
	}
	cc.wmu.Unlock()
	if err == nil {
		cc.client.sent.Add(1)
		return true
	}
	_, still := cc.take(id)
	if err != errDraining {
		cc.client.lost(cc)
		cc.c.Close() // its reader fails what else is in flight
	}
	return !still // completed already, by the reader, when not still pending
}

// giveUp finds the call callID from, in flight on a direct connection
// to a replica of guest, and tells that replica it was given up (see
// remoteService.Cancel); over a Unix socket only when not expired. It
// reports whether it told one.
func (d *directClient) giveUp(guest string, from route.Endpoint, callID uint64, expired bool) bool {
	d.mu.Lock()
	var conns []*clientConn
	if p := d.peers[guest]; p != nil {
		conns = p.conns // replaced, never changed in place, when one is dropped
	}
	d.mu.Unlock()
	for _, cc := range conns {
		if !(expired && cc.local) && cc.giveUp(from, callID) {
			return true
		}
	}
	return false
}

// giveUp tells cc's replica that the call callID from is given up, if
// it is in flight on cc, and reports whether it was. The call is no
// longer: a reply to it, or its hand-back, is ignored. Its caller never
// waits for the replica: a goroutine writes what is given up while
// there is some (tell).
func (cc *clientConn) giveUp(from route.Endpoint, callID uint64) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for id, p := range cc.pending { // a call given up is rare: no index for it on every call
		if p.id != callID || p.from != from {
			continue
		}
		delete(cc.pending, id)
		cc.client.settle(p)
		cc.givenUp = append(cc.givenUp, id)
		if !cc.telling {
			cc.telling = true
			go cc.tell()
		}
		return true
	}
	return false
}

// tell writes what is given up on cc until none is left. A replica that
// does not take it within replyWriteTimeout loses its connection, as
// with a reply.
func (cc *clientConn) tell() {
	for {
		cc.mu.Lock()
		ids := cc.givenUp
		cc.givenUp = nil
		if len(ids) == 0 || cc.dead {
			cc.telling = false
			cc.mu.Unlock()
			return
		}
		cc.mu.Unlock()
		cc.wmu.Lock()
		cc.c.SetWriteDeadline(time.Now().Add(replyWriteTimeout))
		err := cc.w.given(ids)
		cc.c.SetWriteDeadline(time.Time{})
		cc.wmu.Unlock()
		if err != nil {
			cc.c.Close() // its reader fails what else is in flight
		}
	}
}

// read takes the replica's frames until the connection ends, then fails
// the calls still in flight on it with unavailable: each call completes
// once, with its reply or that error.
func (cc *clientConn) read(r *bufio.Reader) {
	msg := route.UnavailableText(cc.guest) + ": its connection closed during the call"
	for {
		kind, body, err := readFrame(r)
		if err != nil {
			break
		}
		cc.unheardSince.Store(0) // the replica runs: see resting
		if kind == frameGoaway {
			cc.client.drop(cc)
			cc.wmu.Lock()
			cc.draining.Store(true)
			cc.w.empty(frameAck)
			cc.wmu.Unlock()
			continue
		}
		if kind == frameUntaken {
			f := frameReader{b: body}
			if p, ok := cc.take(f.u64()); ok && !f.bad && p.move != nil {
				cc.handedBack(p)
			} else if ok {
				// Only a movable call may be handed back: a broken peer.
				p.from.Deliver(abi.ErrorEvent(p.id, abi.CodeInternal, "malformed reply from service "+cc.guest), nil)
			}
			continue
		}
		if kind != frameReply {
			break
		}
		f := frameReader{b: body}
		id, c := f.u64(), f.u32()
		payload := f.rest()
		p, ok := cc.take(id)
		if !ok {
			continue // a call that failed already
		}
		ev := abi.Event{Kind: abi.KindReply, CallID: p.id, Code: abi.Code(c), Payload: payload}
		if f.bad || ev.Code > abi.MaxCode {
			ev = abi.ErrorEvent(p.id, abi.CodeInternal, "malformed reply from service "+cc.guest)
		}
		p.from.Deliver(ev, nil)
	}
	if cc.draining.Load() {
		cc.client.drop(cc) // the replica stops, as it said: its calls go elsewhere
	} else {
		cc.client.lost(cc)
	}
	cc.c.Close()
	cc.mu.Lock()
	cc.dead = true
	pending := cc.pending
	cc.pending = nil
	cc.mu.Unlock()
	for _, p := range pending {
		cc.client.settle(p)
		p.from.Deliver(abi.ErrorEvent(p.id, abi.CodeUnavailable, msg), nil)
	}
}

// take removes the call id from those in flight on cc, and reports
// whether it was.
func (cc *clientConn) take(id uint64) (pendingCall, bool) {
	cc.mu.Lock()
	p, ok := cc.pending[id]
	delete(cc.pending, id)
	cc.mu.Unlock()
	if ok {
		cc.client.settle(p)
	}
	return p, ok
}

// settle releases what a call kept to be movable, once it is no longer
// in flight on its connection.
func (d *directClient) settle(p pendingCall) {
	if p.move != nil {
		d.kept.Add(-int64(len(p.move.ev.Payload)))
	}
}

// resting reports whether pick passes over cc for now: it handed back a
// call lately (pausedUntil), or it has been quiet, sending nothing back
// for longer than quietAfter since a call went to it, as a replica does
// whose process is stopped (SIGSTOP, a debugger) or whose machine is cut
// off while the connection stays open. Calls sent to such a replica wait
// for their deadline; the caller's others go to the replicas that
// answer. A quiet replica gets one call a pause (pauseFor), by which its
// callers learn that it answers again. now is the time (Unix ns), read
// when it is first needed; pick holds d.mu.
func (cc *clientConn) resting(now *int64) bool {
	until, since := cc.pausedUntil.Load(), cc.unheardSince.Load()
	if until == 0 && since == 0 {
		return false
	}
	if *now == 0 {
		*now = time.Now().UnixNano()
	}
	if until > *now {
		return true
	}
	if since != 0 && *now-since > int64(quietAfter(cc.budget)) {
		// This call goes to it; the next ones pass over it for a pause,
		// unless it answers meanwhile.
		cc.pausedUntil.Store(*now + int64(pauseFor(cc.budget)))
	}
	return false
}

// handedBack sends a call that cc's replica handed back untaken (it could
// not take it soon: stuck past its budget in a method, starting again,
// full) to another replica, and passes over cc for a while (pauseFor).
// The call never reached cc's guest, so it still runs at most once. It
// goes from a goroutine of its own: cc's reader must not wait on another
// connection's writes.
func (cc *clientConn) handedBack(p pendingCall) {
	cc.pausedUntil.Store(time.Now().Add(pauseFor(p.move.svc.spec.MethodTimeout)).UnixNano())
	cc.client.moved.Add(1)
	m := p.move
	go m.svc.send(m.ev, p.from, append(slices.Clip(m.tried), cc))
}
