package split

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
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

// Message headers.
const (
	// headerTimeout is how long, in nanoseconds, the caller still waits:
	// relative, so that clocks that differ between machines do not matter.
	headerTimeout = "Parigot-Timeout"
	headerMethod  = "Parigot-Method"
	headerCode    = "Parigot-Code"
	headerStatus  = "Status" // set by the NATS server: "503" when no one subscribes
)

// headerSent says when and where the caller sent a call that has a
// deadline: "<Unix ns>@<machine>" (machineID). A replica on the same
// machine shares the caller's clock, and counts the call's deadline from
// its sending too (callDeadline); one on another machine cannot.
const headerSent = "Parigot-Sent"

// sentAt is the value of headerSent for a call sent at now (Unix ns)
// from machine.
func sentAt(now int64, machine string) string {
	return strconv.FormatInt(now, 10) + "@" + machine
}

// sentHere is when a call whose headerSent is v was sent (Unix ns), when
// it was sent from machine; 0 when it was not, or v says nothing.
func sentHere(v, machine string) int64 {
	at, from, ok := strings.Cut(v, "@")
	if !ok || from != machine {
		return 0
	}
	sent, err := strconv.ParseInt(at, 10, 64)
	if err != nil || sent < 0 {
		return 0
	}
	return sent
}

// callDeadline is the deadline (Unix ns) of a call that arrives at now
// with timeout (ns) left when its caller sent it at sent (Unix ns; 0:
// unknown, or by another machine's clock): timeout from its arrival, but
// no later than timeout from its sending. So a call that sat waiting
// past its deadline (its replica's process stopped by SIGSTOP or a
// debugger, then resumed, with the call in a socket or in the NATS
// server's buffers) is due when it arrives, and its replica's host drops
// it unrun, counted as expired, as a call whose deadline passed in its
// inbox is in single mode: its caller has had its answer. Over a direct
// connection and through the NATS server alike.
//
// A timeout comes from the caller's process, which a peer on the network
// may pretend to be: one longer than any budget (host.MaxScaledTimeout)
// is taken as that long, so that the sum cannot wrap around into a
// deadline in the past or none at all.
func callDeadline(now, timeout, sent int64) int64 {
	timeout = min(timeout, int64(host.MaxScaledTimeout))
	d := now + timeout
	if sent > 0 {
		d = min(d, sent+timeout)
	}
	return d
}

// headerTraceparent is the W3C Trace Context header, on a call while
// tracing is on: the span it was made on behalf of, in the caller's process.
const headerTraceparent = abi.TraceparentHeader

// headerCall carries a call's header (abi.Event.Header: the request
// headers a gateway passes on), in base64 (standard, unpadded), since a
// NATS header's value is text; absent when the call has none.
const headerCall = "Parigot-Header"

// headerDirect marks a request on a service's call subject that asks the
// replica taking it for a direct connection (an offer, see direct.go)
// rather than making a call: only a guest allowed to call the service may
// publish there.
const headerDirect = "Parigot-Direct"

// Network connects the guests of one process to the app's other guests
// over a NATS connection: it is the host's Remote in split mode.
type Network struct {
	nc      *nats.Conn
	subj    subjects
	guests  []*host.GuestSpec
	owner   map[string]*host.GuestSpec // proto service name -> the guest serving it
	local   map[string]bool            // names of the guests hosted in this process
	who     string                     // the connection's identity
	machine string                     // this machine, read once (machineID): where a socket path means the same file
	refused chan *PermissionError      // the first permission the server refused
	mu      sync.Mutex
	inboxes map[inboxKey]string // a caller's reply subject prefix for one callee
	subs    []*nats.Subscription
	serving []*nats.Subscription    // call and readiness subscriptions of local services
	pending map[string]pendingServe // local service guests served and not yet ready
	ready   map[string]bool         // local service guests that have been ready
	// served holds what each local service guest serves, once ready;
	// calls its subscriptions to its services' call subjects and to its
	// readiness checks, which Pause drains and Resume makes again
	// (paused); stopped is set by StopServing, after which nothing is
	// served again.
	served  map[string]pendingServe
	calls   map[string][]*nats.Subscription
	paused  map[string]bool
	stopped bool
	// direct is where callers on this machine connect to the local
	// services (direct.go); nil until one serves, or when the socket could
	// not be made. client is this process's side of its calls' direct
	// connections.
	direct   *directServer
	client   *directClient
	natsOnly bool // no direct connections: every call through the NATS server (ChildOptions.NATSOnly)
	// acrossMachines: other machines may host replicas of the app's
	// services beyond those the manifest declares (ChildOptions.AcrossMachines,
	// AcrossMachines).
	acrossMachines bool
	sockets        string // the directory of the direct connections' socket, made for this process; empty: make one in the temporary directory
	// directHost is the address of this machine where the local services
	// also listen for direct connections from other machines
	// (ChildOptions.DirectHost); "": they do not.
	directHost string
	// version is the direct protocol's version this process speaks:
	// directVersion, but in a test that plays a process of another.
	version int
	// builds is the fingerprint of each of the app's proto services as
	// this process's build made them (Built); nil: none compared.
	builds map[string]Fingerprint
	// label names this process's replica in its offers ("echo#2");
	// empty: none said.
	label string
	// warn is where the network says that it fell back to the NATS server,
	// or does not wait for a service down for good (ChildOptions.Stderr);
	// nil: nowhere. Under warnMu: the connection's handlers say what they
	// say on its goroutine, from the moment NewNetwork installs them.
	warnMu sync.Mutex
	warn   io.Writer
	// drops says when calls were dropped unread (flood.go).
	drops dropWatch
	// unserved asks whether the callee of a call no replica took runs
	// (noResponders), once at a time.
	unserved unservedAnswers
	// authRefused is set while the NATS server refuses this process's
	// credentials on reconnecting (said once, see NewNetwork).
	authRefused atomic.Bool
	// server says when the connection to the NATS server drops and
	// comes back (natslost.go); closing is set by Close, whose closing
	// of the connection is no loss, and closed is closed once the
	// connection is.
	server  *serverWatch
	closing atomic.Bool
	closed  chan struct{}
	// down reports a service guest that is down for good
	// (ChildOptions.Down, SkipDown): WaitReady does not wait for it, and
	// says so with notWaiting (nil: says nothing). Nil: none is.
	down       func(guest string) bool
	notWaiting func(guest string)

	// The calls given up that went through the NATS server (given.go).
	// As a caller: gmu guards givenNews, those not yet published, and
	// givenTelling, set while a goroutine publishes them; givenOff is set
	// once the server refused to let it publish them. As a service: held,
	// what its callers gave up; hearing, the local guests that hear it
	// (under mu). givenPubRefused and givenSubRefused: each refusal is
	// said once.
	gmu             sync.Mutex
	givenNews       map[givenNews][]uint64
	givenTelling    bool
	givenOff        atomic.Bool
	held            givenTable
	hearing         map[string]bool
	givenPubRefused atomic.Bool
	givenSubRefused atomic.Bool

	// announceSubRefused and announcePubRefused: the server refused an
	// announcement subject (announce.go), said once each way.
	announceSubRefused atomic.Bool
	announcePubRefused atomic.Bool
	// programSubRefused: the server refused a program's subject
	// (program.go), said once.
	programSubRefused atomic.Bool
}

// SkipDown has WaitReady (and AwaitRequired) not wait for a service that
// down reports down for good (its every process ended, none to start
// again: see Downs), which will never be ready; said, when set, is told of
// each such service as the wait passes over it. Calls to it then fail at
// once with unavailable. Set before the first wait.
func (n *Network) SkipDown(down func(guest string) bool, said func(guest string)) {
	n.down, n.notWaiting = down, said
}

// AcrossMachines has n's calls look for the replicas of the services
// they call for as long as n lasts, not only until it knows as many as
// the manifest declares: the app joins a NATS server that other machines
// share (split mode's --nats), where a service may run on several of them
// (the same --only on each), each with the replicas the manifest
// declares. A replica no caller knows takes none of its direct calls. Set
// before the first call.
func (n *Network) AcrossMachines() {
	n.acrossMachines = true
}

// warnf writes a line to n.warn, naming this process's guest.
func (n *Network) warnf(format string, args ...any) {
	n.warnMu.Lock()
	w := n.warn
	n.warnMu.Unlock()
	if w != nil {
		fmt.Fprintf(w, "parigot: %s: "+format+"\n", append([]any{n.who}, args...)...)
	}
}

// inboxKey names the reply subjects of one caller's calls to one guest.
type inboxKey struct {
	caller route.Endpoint
	callee string
}

// NewNetwork connects the guests named local to the app's other guests over
// nc. guests describes every guest of the app. The connection's identity
// is its one local guest, or NativeCaller with none (see Conn.Connect).
func NewNetwork(nc *nats.Conn, app string, guests []*host.GuestSpec, local ...string) *Network {
	n := &Network{nc: nc, subj: subjects{app}, guests: guests, owner: map[string]*host.GuestSpec{}, local: map[string]bool{},
		refused: make(chan *PermissionError, 1), inboxes: map[inboxKey]string{}, machine: machineID(), version: directVersion,
		pending: map[string]pendingServe{}, ready: map[string]bool{}, hearing: map[string]bool{},
		served: map[string]pendingServe{}, calls: map[string][]*nats.Subscription{}, paused: map[string]bool{}}
	for _, g := range guests {
		for _, s := range g.Implements {
			n.owner[s] = g
		}
	}
	for _, l := range local {
		n.local[l] = true
	}
	n.who = NativeCaller
	if len(local) == 1 {
		n.who = local[0]
	}
	n.client = newDirectClient(n)
	other := nc.ErrorHandler() // nats.go's default prints what it is given
	nc.SetErrorHandler(func(c *nats.Conn, sub *nats.Subscription, err error) {
		pe := permissionError(n.subj.app, n.who, err)
		switch {
		case pe != nil && n.subj.isGiven(pe.Subject):
			// Not what calls need: an operator's server configured for
			// an earlier parigot.
			n.givenRefused(pe)
		case pe != nil && n.subj.isAnnounce(pe.Subject):
			// The same: its replicas are found by asking.
			n.announceRefused(pe)
		case pe != nil && n.subj.isProgram(pe.Subject):
			// The same: the program runs unchecked.
			n.programRefused(pe)
		case pe != nil:
			select {
			case n.refused <- pe:
			default: // the first one is what matters
			}
		case errors.Is(err, nats.ErrSlowConsumer) && (n.callsDropped(sub) || n.repliesDropped(sub)):
		case errors.Is(err, nats.ErrAuthorization):
			// Refused while reconnecting: said once until it connects
			// again (it goes on trying, see Conn.Connect).
			if n.authRefused.CompareAndSwap(false, true) {
				n.warnf("the NATS server refuses this process's credentials, and it is cut off from the app until the server takes them again (it goes on trying): "+
					"configure the server with the users `parigot nats-config` prints, from the same --seeds directory as --nats-seeds (%v)", err)
			}
		case other != nil:
			other(c, sub, err)
		}
	})
	n.watchServer(nc)
	return n
}

// watchServer installs nc's handlers of its connection's state: one home
// for what is said when the connection to the NATS server drops, comes
// back, or closes for good.
func (n *Network) watchServer(nc *nats.Conn) {
	n.closed = make(chan struct{})
	n.server = &serverWatch{say: n.warnf, now: time.Now, quiet: lostQuiet, url: shownURLs(nc.ConnectedUrlRedacted())}
	nc.SetDisconnectErrHandler(func(c *nats.Conn, _ error) {
		if c.IsClosed() || n.closing.Load() {
			return // closed on purpose: no loss
		}
		n.server.lost()
	})
	nc.SetReconnectHandler(func(c *nats.Conn) {
		if n.authRefused.CompareAndSwap(true, false) {
			n.warnf("the NATS server takes this process's credentials again: connected at %s", shownURLs(c.ConnectedUrlRedacted()))
		}
		n.server.back(shownURLs(c.ConnectedUrlRedacted()))
	})
	nc.SetClosedHandler(func(*nats.Conn) {
		if !n.closing.Load() {
			n.server.closed()
		}
		close(n.closed)
	})
}

// Refused delivers the first permission the NATS server refused this
// connection: a subscription or a publication its user may not make.
func (n *Network) Refused() <-chan *PermissionError { return n.refused }

// Service implements route.Remote.
func (n *Network) Service(name string) route.Endpoint {
	spec := n.owner[name]
	if spec == nil || n.local[spec.Name] {
		return nil
	}
	return &remoteService{net: n, spec: spec, subject: n.subj.call(name)}
}

// Serve implements route.Remote: calls for the services of guest reach
// local once it is ready (Ready), spread over the replicas of guest by a
// NATS queue group, or by callers on this machine over direct
// connections. Until then the replica is in no queue group and offers no
// direct connection, so that the calls go to the replicas that are ready
// (or fail at once with unavailable when none is), not to one still in its
// Ready method: a replica restarted while the others serve, say. A guest
// already ready that is served again (restarted in this process) takes its
// calls at once.
func (n *Network) Serve(guest string, services []string, local route.Endpoint) error {
	n.mu.Lock()
	if !n.ready[guest] {
		n.pending[guest] = pendingServe{services, local}
		n.mu.Unlock()
		return nil
	}
	n.mu.Unlock()
	return n.serve(guest, services, local)
}

// pendingServe is a local service guest that Serve was called for, and
// that is not ready yet.
type pendingServe struct {
	services []string
	local    route.Endpoint
}

// serve has the calls for the services of guest reach local: it joins
// their queue group and offers direct connections.
func (n *Network) serve(guest string, services []string, local route.Endpoint) error {
	n.mu.Lock()
	if n.direct == nil && !n.natsOnly {
		if d, err := listenDirect(n); err == nil {
			n.direct = d
		} else {
			n.warnf("no direct connections (%v); calls to its services go through the NATS server", err)
		}
	}
	direct := n.direct
	if direct != nil {
		direct.serve(guest, services, local)
	}
	n.served[guest] = pendingServe{services, local}
	n.mu.Unlock()
	n.hearGiven(guest)
	return n.subscribeCalls(guest, services, local, direct)
}

// subscribeCalls joins the queue groups of guest's services: their calls
// over NATS, and the requests for offers of direct connections, reach
// local.
func (n *Network) subscribeCalls(guest string, services []string, local route.Endpoint, direct *directServer) error {
	for _, svc := range services {
		window := time.Duration(0)
		spec := n.owner[svc]
		if spec != nil {
			window = lateReply(spec.MethodTimeout)
		}
		sub, err := n.nc.QueueSubscribe(n.subj.call(svc), guest, func(m *nats.Msg) {
			if m.Reply == "" {
				return // nobody to answer: not a parigot caller
			}
			if m.Header.Get(headerDirect) != "" && !strings.HasPrefix(m.Reply, n.subj.inbox("")) || m.Header.Get(headerDirect) == "" && n.subj.caller(m.Reply) == "" {
				// Not answered to a caller of the app (a call's reply
				// subject, an offer request's inbox): no caller sent it.
				// JetStream delivers a push consumer's messages with its
				// acknowledgement subject, to whatever deliver subject the
				// consumer names, and a guest allowed to create consumers
				// on a store's stream could name this one: its messages
				// must not run as calls the guest may not make.
				return
			}
			if m.Header.Get(headerDirect) != "" {
				var offer []byte // none: this replica takes its calls over NATS only
				if direct != nil {
					offer = direct.offer(guest, m.Reply, askerVersion(m))
				}
				m.Respond(offer)
				return
			}
			rc := &remoteCaller{nc: n.nc, subject: m.Reply, received: time.Now(), window: window, name: n.subj.caller(m.Reply), given: &n.held}
			method := m.Header.Get(headerMethod)
			if code, why := checkCall(svc, method, m.Data); code != abi.CodeOK {
				rc.Deliver(abi.ErrorEvent(0, code, why), nil)
				return
			}
			// Its caller may give it up (given.go): the host asks before
			// its guest takes it (remoteCaller.Abandoned).
			ev := abi.Event{Kind: abi.KindCall, Method: method, Payload: m.Data, Abandonable: true}
			if v := m.Header.Get(headerCall); v != "" {
				h, err := decodeCallHeader(v)
				if err != nil {
					rc.Deliver(abi.ErrorEvent(0, abi.CodeInvalidArgument, "malformed call: "+err.Error()), nil)
					return
				}
				ev.SetHeader(h)
			}
			if d, err := strconv.ParseInt(m.Header.Get(headerTimeout), 10, 64); err == nil {
				ev.Deadline = callDeadline(time.Now().UnixNano(), d, sentHere(m.Header.Get(headerSent), n.machine))
			}
			if tp := m.Header.Get(headerTraceparent); tp != "" {
				ev.Trace, _ = abi.ParseTraceparent(tp)
			}
			if r := local.Deliver(ev, rc); r != route.Accepted {
				rc.Deliver(route.Refuse(r, 0, guest), nil)
			}
		})
		if err != nil {
			return fmt.Errorf("subscribing to %s: %w", svc, err)
		}
		// What the server sent and the handler has not taken yet is held
		// to the guest's inbox's bounds (see flood.go).
		sub.SetPendingLimits(callPending(spec))
		n.mu.Lock()
		n.subs = append(n.subs, sub)
		n.serving = append(n.serving, sub)
		n.calls[guest] = append(n.calls[guest], sub)
		n.mu.Unlock()
	}
	if err := n.nc.Flush(); err != nil {
		return err
	}
	// The server answers a refused subscription before the flush's PONG,
	// and the client records it as it reads it: a service whose user may
	// not take its calls is known now, before it starts.
	if pe := permissionError(n.subj.app, n.who, n.nc.LastError()); pe != nil && !n.subj.isGiven(pe.Subject) {
		return pe
	}
	return nil
}

// Pause implements route.Pauser: guest, a local service that failed and
// is to start again, leaves its services' queue groups until Resume, so
// that the NATS server sends their calls (and requests for offers) to
// the other replicas meanwhile, or answers no responders at once when
// there is none; and it answers no readiness check (a gateway's health
// says not serving when no replica is). What it had sent this process
// already is still handed to the guest's endpoint (a drain), which refuses
// it as a guest between two runs does; what is published once Pause
// returns is not.
func (n *Network) Pause(guest string) {
	n.mu.Lock()
	subs := n.calls[guest]
	if n.stopped || n.paused[guest] || len(subs) == 0 {
		n.mu.Unlock()
		return
	}
	delete(n.calls, guest)
	n.paused[guest] = true
	n.serving = slices.DeleteFunc(n.serving, func(s *nats.Subscription) bool { return slices.Contains(subs, s) })
	n.mu.Unlock()
	for _, s := range subs {
		s.Drain()
	}
	// Drain only queues the unsubscriptions: once the server has taken
	// them (the flush's PONG), a call published after Pause returns goes
	// to another replica. Bounded, for a server that is down: its
	// subscriptions are gone anyway.
	n.nc.FlushTimeout(pauseFlush)
}

// pauseFlush bounds how long Pause waits for the server to take the
// unsubscriptions of a guest that failed.
const pauseFlush = time.Second

// Resume implements route.Pauser: guest, paused while it started again,
// is ready, and joins its services' queue groups again. A guest not
// paused is left as it is.
func (n *Network) Resume(guest string) error {
	n.mu.Lock()
	p, ok := n.served[guest]
	if n.stopped || !n.paused[guest] || !ok {
		n.mu.Unlock()
		return nil
	}
	delete(n.paused, guest)
	direct := n.direct
	n.mu.Unlock()
	if err := n.subscribeCalls(guest, p.services, p.local, direct); err != nil {
		return err
	}
	if err := n.answerReady(guest); err != nil {
		return err
	}
	n.announce(guest)
	return nil
}

// StopServing implements route.StopServer: no new calls or readiness
// checks reach the local services; calls already delivered are still
// answered, and replies still flow. Callers elsewhere go to other replicas,
// or fail at once with unavailable when there are none.
//
// It drains the subscriptions rather than dropping them: the server stops
// sending, and every call it had already sent this process, even one still
// in the client's buffer, is handed to its guest before StopServing returns.
func (n *Network) StopServing() {
	n.mu.Lock()
	subs := n.serving
	n.serving = nil
	n.stopped = true
	direct := n.direct
	n.mu.Unlock()
	if direct != nil {
		// No caller is sent to the socket from now on, not even one whose
		// request for an offer is among those the drain below still hands
		// over: it would only be told to go away.
		direct.stopOffers()
		// Every direct caller is told to send no new call, and answers
		// once the calls it sent before are all here.
		defer direct.stop()
	}
	var closed []<-chan nats.SubStatus
	for _, s := range subs {
		closed = append(closed, s.StatusChanged(nats.SubscriptionClosed))
		s.Drain()
	}
	timeout := time.NewTimer(drainTimeout)
	defer timeout.Stop()
	for _, c := range closed {
		select {
		case <-c:
		case <-timeout.C:
			return
		}
	}
}

// drainTimeout bounds how long StopServing and Close wait for NATS to hand
// over or send what it has.
const drainTimeout = 2 * time.Second

// maxMethod bounds a method name from the network: "package.Service/Method".
const maxMethod = 1024

// decodeCallHeader reads a call's header from its NATS header's value v,
// checked as a header from another process is (abi.CheckHeader).
func decodeCallHeader(v string) ([]byte, error) {
	if len(v) > base64.RawStdEncoding.EncodedLen(abi.MaxHeader) {
		return nil, fmt.Errorf("%w: more than %d bytes", abi.ErrBadHeader, abi.MaxHeader)
	}
	h, err := base64.RawStdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not base64", abi.ErrBadHeader, headerCall)
	}
	if err := abi.CheckHeader(h); err != nil {
		return nil, err
	}
	return h, nil
}

// checkCall refuses what no parigot caller would send, before it reaches the
// guest: a method of another service, an absurd name, a payload over the
// limit that guests are promised.
func checkCall(svc, method string, payload []byte) (abi.Code, string) {
	switch {
	case len(method) > maxMethod || !strings.HasPrefix(method, svc+"/") || len(method) == len(svc)+1:
		return abi.CodeInvalidArgument, fmt.Sprintf("a call on the subject of %s must name one of its methods, as %s/<Method>", svc, svc)
	case len(payload) > abi.MaxPayload:
		return abi.CodeResourceExhausted, fmt.Sprintf("request of %d bytes is larger than the %d-byte limit", len(payload), abi.MaxPayload)
	}
	return abi.CodeOK, ""
}

// Ready implements route.Remote: the guest takes its calls (see Serve),
// then answers readiness checks, and says to its callers that it is
// ready (announce).
func (n *Network) Ready(guest string) error {
	n.mu.Lock()
	n.ready[guest] = true
	p, ok := n.pending[guest]
	delete(n.pending, guest)
	n.mu.Unlock()
	if ok {
		if err := n.serve(guest, p.services, p.local); err != nil {
			return err
		}
	}
	if err := n.answerReady(guest); err != nil {
		return err
	}
	n.announce(guest)
	return nil
}

// answerReady answers the readiness checks of guest (Serving, WaitReady)
// from now on, until StopServing or Pause.
func (n *Network) answerReady(guest string) error {
	// The answer names the proto services served, which a caller whose
	// calls find no one to take them reads (noResponders).
	served := []byte(strings.Join(n.servicesOf(guest), " "))
	sub, err := n.nc.Subscribe(n.subj.ready(guest), func(m *nats.Msg) { m.Respond(served) })
	if err != nil {
		return fmt.Errorf("answering readiness checks on %s: %w", n.subj.ready(guest), err)
	}
	n.mu.Lock()
	n.subs = append(n.subs, sub)
	n.serving = append(n.serving, sub)
	n.calls[guest] = append(n.calls[guest], sub)
	n.mu.Unlock()
	if err := n.nc.Flush(); err != nil {
		return fmt.Errorf("answering readiness checks on %s: %w", n.subj.ready(guest), err)
	}
	return nil
}

// Serving implements native.Prober: a ready replica of the guest serving
// the proto service name answers a readiness check within a second (or
// before ctx ends). Replicas stop answering as they drain.
func (n *Network) Serving(ctx context.Context, name string) bool {
	spec := n.owner[name]
	if spec == nil {
		return false
	}
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := n.nc.RequestWithContext(rctx, n.subj.ready(spec.Name), nil)
	return err == nil
}

// WaitReady returns once a ready replica of each named guest answers, or
// is down for good (see ChildOptions.Down; said on n.warn), or an error
// naming the first guest that did neither within timeout (zero: no
// limit), or ctx's error when it ends first. waiting, when set, is told of
// a guest that has not answered after a second.
func (n *Network) WaitReady(ctx context.Context, names []string, timeout time.Duration, waiting func(name string)) error {
	start := time.Now()
	deadline := start.Add(timeout)
	for _, name := range names {
		told := false
		for {
			if n.down != nil && n.down(name) {
				// It will never be ready: calls to it fail with unavailable.
				if n.notWaiting != nil {
					n.notWaiting(name)
				}
				break
			}
			rctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
			_, err := n.nc.RequestWithContext(rctx, n.subj.ready(name), nil)
			cancel()
			if err == nil {
				if err := n.client.first(ctx, name); err != nil {
					return err
				}
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, nats.ErrConnectionClosed) {
				return fmt.Errorf("waiting for service %s: %w", name, err)
			}
			if timeout > 0 && time.Now().After(deadline) {
				return fmt.Errorf("service %s did not become ready within %s", name, timeout)
			}
			if !told && waiting != nil && time.Since(start) > time.Second {
				waiting(name)
				told = true
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// AwaitRequired is WaitReady for the services a guest or gateway requires,
// of which those in elsewhere run on other machines (split mode's --only
// leaves them out here): those that run here within twice timeout, and
// then those elsewhere without limit, since the app's machines may start
// in any order. A service here that never becomes ready is a fault, which
// its own process reports once it has not been ready for timeout since
// its guest started (after its compilation), naming the replica and where
// it is stuck: the wait here gives it the time to, and fails only if it
// did not. waiting, when set, is told of a service that has not answered
// after a second, and whether it runs elsewhere.
func (n *Network) AwaitRequired(ctx context.Context, names, elsewhere []string, timeout time.Duration, waiting func(name string, elsewhere bool)) error {
	var here, there []string
	for _, name := range names {
		if slices.Contains(elsewhere, name) {
			there = append(there, name)
		} else {
			here = append(here, name)
		}
	}
	tell := func(far bool) func(string) {
		if waiting == nil {
			return nil
		}
		return func(name string) { waiting(name, far) }
	}
	if err := n.WaitReady(ctx, here, 2*timeout, tell(false)); err != nil {
		return err
	}
	return n.WaitReady(ctx, there, 0, tell(true))
}

// Close stops taking calls, lets what is in flight drain, and closes the
// connection. It returns once the connection is closed, so that what this
// process published (the replies of a guest that just crashed, say) has
// left it, or after drainTimeout.
func (n *Network) Close() error {
	n.client.close()
	n.mu.Lock()
	direct := n.direct
	n.mu.Unlock()
	if direct != nil {
		defer direct.close()
	}
	n.closing.Store(true)
	if err := n.nc.Drain(); err != nil {
		n.nc.Close()
		return err
	}
	select {
	case <-n.closed:
	case <-time.After(drainTimeout + time.Second):
		n.nc.Close()
	}
	return nil
}

// inbox returns the reply subject prefix of a caller's calls to the guest
// callee, subscribing to it on first use: reply.<caller>.<nuid>, under
// which each reply names its callee and call id. Its permissions let only
// the caller's own connection read it.
//
// Each callee gets a prefix of its own, so a service that the caller also
// calls learns only the prefix of the calls it receives: it cannot make
// another service send the reply of a request it forged (its reply subject
// naming another callee) where this caller waits for a real one.
func (n *Network) inbox(caller route.Endpoint, callee string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	key := inboxKey{caller, callee}
	if p, ok := n.inboxes[key]; ok {
		return p, nil
	}
	prefix := n.subj.reply(caller.GuestName()) + "." + nuid.Next()
	sub, err := n.nc.Subscribe(prefix+".>", func(m *nats.Msg) { deliverReply(caller, prefix, m, n.noResponders) })
	if err != nil {
		return "", err
	}
	// What the server sent and the handler has not taken yet is bounded
	// by what the caller can be waiting for (see flood.go).
	sub.SetPendingLimits(replyPending(host.FindGuest(n.guests, caller.GuestName())))
	n.subs = append(n.subs, sub)
	n.inboxes[key] = prefix
	return prefix, nil
}

// deliverReply turns a reply message (or the server's "no responders") into
// a reply event for caller. noResponders, when set, makes the reply of a
// call no one took, on a goroutine of its own: it may ask the server.
func deliverReply(caller route.Endpoint, prefix string, m *nats.Msg, noResponders func(callee string, id uint64) abi.Event) {
	rest := strings.TrimPrefix(m.Subject, prefix+".")
	callee, idText, ok := strings.Cut(rest, ".")
	if !ok {
		return
	}
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil {
		return
	}
	ev := abi.Event{Kind: abi.KindReply, CallID: id, Payload: m.Data}
	switch code, err := strconv.ParseUint(m.Header.Get(headerCode), 10, 32); {
	case m.Header.Get(headerStatus) == "503" && noResponders != nil:
		go func() { caller.Deliver(noResponders(callee, id), nil) }()
		return
	case m.Header.Get(headerStatus) == "503":
		ev = abi.ErrorEvent(id, abi.CodeUnavailable, route.UnavailableText(callee))
	case err != nil || abi.Code(code) > abi.MaxCode:
		ev = abi.ErrorEvent(id, abi.CodeInternal, "malformed reply from service "+callee)
	default:
		ev.Code = abi.Code(code)
	}
	caller.Deliver(ev, nil)
}

// noResponders is the reply to call id of guest callee that no replica
// took. Asking callee's replicas whether they are ready tells one that
// does not run from one that runs but serves other proto services than
// this process was built to call: a rolling upgrade that changed a proto
// package, whose callers built before it would otherwise be told that a
// service they can see running is not.
//
// The question is asked once per callee at a time, and its answer serves
// the calls that find no one for a second after it (unserved.go). A
// callee that is no guest of the app (a reply subject a peer made up) is
// asked nothing: it does not run.
func (n *Network) noResponders(callee string, id uint64) abi.Event {
	expected := n.servicesOf(callee)
	if len(expected) > 0 {
		if msg := n.unserved.answer(callee, func() string { return n.askServed(callee, expected) }); msg != "" {
			return abi.ErrorEvent(id, abi.CodeUnimplemented, msg)
		}
	}
	return abi.ErrorEvent(id, abi.CodeUnavailable, route.UnavailableText(callee))
}

// askServed asks callee's replicas whether they are ready, and says what
// is wrong when the one that answers serves other proto services than
// expected, those this process was built to call it by (servesOther); ""
// when none answers, or the one that does serves them.
func (n *Network) askServed(callee string, expected []string) string {
	ctx, cancel := context.WithTimeout(context.Background(), unservedAsking)
	defer cancel()
	reply, err := n.nc.RequestWithContext(ctx, n.subj.ready(callee), nil)
	if err != nil || len(reply.Data) == 0 {
		return ""
	}
	return servesOther(callee, expected, strings.Fields(string(reply.Data)))
}

// unservedAsking bounds how long a caller waits for a replica to answer
// whether it runs (noResponders).
const unservedAsking = 250 * time.Millisecond

// servicesOf is, sorted, the proto services that this process's manifest
// says guest implements.
func (n *Network) servicesOf(guest string) []string {
	var out []string
	for svc, g := range n.owner {
		if g.Name == guest {
			out = append(out, svc)
		}
	}
	slices.Sort(out)
	return out
}

// servesOther says what is wrong when a running replica of guest serves
// served, which lacks some of expected, the services this process was
// built to call it by; "" when it lacks none.
func servesOther(guest string, expected, served []string) string {
	var missing []string
	for _, svc := range expected {
		if !slices.Contains(served, svc) {
			missing = append(missing, svc)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("service %s runs, serving %s, not %s: it was built from protos or a parigot.hcl that name its services otherwise than this process's (a proto package changed, say). "+
		"During a rolling upgrade, have it implement both, the old beside the new, until every caller is upgraded; else build every machine from the same sources",
		guest, strings.Join(served, ", "), strings.Join(missing, ", "))
}

// remoteService is a service served by a guest in another process.
type remoteService struct {
	net     *Network
	spec    *host.GuestSpec
	subject string
}

func (r *remoteService) GuestName() string            { return r.spec.Name }
func (r *remoteService) MethodTimeout() time.Duration { return r.spec.MethodTimeout }

// Cancel implements route.Canceller: a call from gave up is given up on
// its replica too, so that the replica drops it unrun if its guest has
// not taken it yet: on its direct connection (frameGiven), else on the
// service's given-up subject, for a call that went through the NATS
// server (given.go). One whose deadline passed (expired) is said on a
// direct connection only to a replica on another machine: one on this
// machine drops it by its send time already.
func (r *remoteService) Cancel(callID uint64, from route.Endpoint, expired bool) {
	if !r.net.client.giveUp(r.spec.Name, from, callID, expired) {
		r.net.giveUpOverNATS(r.spec.Name, from, callID)
	}
}

// Deliver sends a call. A call that cannot be sent fails at once.
func (r *remoteService) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	r.send(ev, from, nil)
	return route.Accepted
}

// send sends a call that has been to the replicas tried (each handed it
// back untaken), and completes it at once when it cannot be sent.
//
// Directly to a replica on this machine, in turn, when one is known; one
// whose connection fails is dropped and the next tried. While the call
// has another replica to go to, it goes movable: a replica that cannot
// take it soon hands it back (frameUntaken), and it comes here again
// (clientConn.handedBack). The last replica left takes it as a call to a
// single replica is taken. A request over the limit goes over NATS, whose
// service refuses it as such; so does a method name too long for a call
// frame, which frameWriter.call would refuse and the loop would take for
// a broken connection, dropping every replica in turn.
func (r *remoteService) send(ev abi.Event, from route.Endpoint, tried []*clientConn) {
	fail := func(code abi.Code, msg string) {
		from.Deliver(abi.ErrorEvent(ev.CallID, code, msg), nil)
	}
	if len(ev.Payload) <= abi.MaxPayload && len(ev.Method) <= maxMethod {
		d := r.net.client
		for {
			cc, more := d.pick(r.spec.Name, tried)
			if cc == nil {
				break
			}
			var move *moving
			if more && d.keep(len(ev.Payload)) {
				move = &moving{svc: r, ev: ev, tried: tried}
			}
			if cc.call(ev, from, move) {
				return
			}
		}
	}
	if r.net.client.down(r.spec.Name) {
		// Its replicas' connections broke: through NATS, the call could
		// go to a process that died (see directClient.lost).
		fail(abi.CodeUnavailable, route.UnavailableText(r.spec.Name))
		return
	}
	prefix, err := r.net.inbox(from, r.spec.Name)
	if err != nil {
		fail(abi.CodeUnavailable, "cannot receive replies: "+err.Error())
		return
	}
	m := nats.NewMsg(r.subject)
	m.Reply = prefix + "." + r.spec.Name + "." + strconv.FormatUint(ev.CallID, 10)
	m.Header.Set(headerMethod, ev.Method)
	if ev.Deadline > 0 {
		now := time.Now().UnixNano()
		m.Header.Set(headerTimeout, strconv.FormatInt(ev.Deadline-now, 10))
		m.Header.Set(headerSent, sentAt(now, r.net.machine))
	}
	if ev.Trace.Valid() {
		m.Header.Set(headerTraceparent, ev.Trace.Traceparent())
	}
	if h := ev.Header(); len(h) > 0 {
		m.Header.Set(headerCall, base64.RawStdEncoding.EncodeToString(h))
	}
	m.Data = ev.Payload
	if err := r.net.nc.PublishMsg(m); err != nil {
		if errors.Is(err, nats.ErrMaxPayload) {
			fail(abi.CodeResourceExhausted, fmt.Sprintf("request of %d bytes is larger than the NATS server's max_payload", len(ev.Payload)))
			return
		}
		fail(abi.CodeUnavailable, "cannot reach service "+r.spec.Name+": "+err.Error())
	}
}

// remoteCaller is where the reply to a call from another process goes.
type remoteCaller struct {
	nc       *nats.Conn
	subject  string
	received time.Time     // when the call arrived
	window   time.Duration // after this long its caller no longer waits; 0: always send
	name     string        // the calling guest, from the reply subject; empty when it names none
	given    *givenTable   // what the callers of this process's services gave up
}

// Abandoned implements route.Abandoner: the caller said it gave the call
// up (given.go).
func (c *remoteCaller) Abandoned(uint64) bool { return c.given.has(c.subject) }

// GuestName is the calling guest, as its reply subject names it (each
// guest may read only its own replies, so a caller gains nothing by naming
// another): what metrics label the call with.
func (c *remoteCaller) GuestName() string {
	if c.name == "" {
		return "remote caller"
	}
	return c.name
}
func (c *remoteCaller) MethodTimeout() time.Duration { return 0 }

// Deliver publishes the reply, unless it comes so late that its caller
// stopped waiting long ago, when the server would refuse it anyway (see
// replyWindow).
func (c *remoteCaller) Deliver(ev abi.Event, _ route.Endpoint) route.Refusal {
	if c.window > 0 && time.Since(c.received) > c.window {
		return route.Accepted
	}
	m := nats.NewMsg(c.subject)
	m.Header.Set(headerCode, strconv.FormatUint(uint64(ev.Code), 10))
	m.Data = ev.Payload
	if err := c.nc.PublishMsg(m); err != nil && errors.Is(err, nats.ErrMaxPayload) {
		m.Header.Set(headerCode, strconv.FormatUint(uint64(abi.CodeResourceExhausted), 10))
		m.Data = abi.EncodeError(abi.CodeResourceExhausted, fmt.Sprintf("reply of %d bytes is larger than the NATS server's max_payload", len(ev.Payload)))
		c.nc.PublishMsg(m)
	}
	return route.Accepted
}
