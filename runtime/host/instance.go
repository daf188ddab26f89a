package host

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// instance is the host's side of one running guest.
//
// Fields under "owned" are touched only by the guest's own goroutine (the one
// running its wasm, which is also the one calling its host functions), so
// they need no lock. The inbox is the only thing other guests touch, under
// the instance's own mutex: there is no global lock.
type instance struct {
	spec *GuestSpec
	run  *run

	// inbox: events pushed by other guests.
	mu     sync.Mutex
	queue  []delivery
	spare  []delivery    // owned: the drained queue's array, reused by the next drain
	closed bool          // the guest has ended: pushes fail
	wake   chan struct{} // capacity 1: "the queue may have something"
	queued atomic.Bool   // queue holds something a poll can take; readable without mu (see spin)
	swept  int64         // when dropGivenUp last looked at a full queue and dropped nothing (Unix ns)
	// parked is set while the guest's goroutine waits on wake, or is
	// about to: only then does a push send wake a token. A guest that
	// spins, or runs, sees the queue without one, and a push to it
	// then touches no channel.
	parked atomic.Bool
	// lastWait is how long the guest's last poll waited for its event,
	// and peerIsGuest whether the last call or reply drained came from
	// another guest of this process (both owned by the guest's goroutine):
	// see spin.
	lastWait    time.Duration
	peerIsGuest bool
	// What waits for the guest, from push until poll hands it over (or
	// close answers it): calls and their request bytes, and reply bytes.
	// Pushes check them against the bounds under mu; the guest goroutine
	// lowers them without it.
	waitingCalls atomic.Int64
	waitingBytes atomic.Int64
	maxCalls     int64
	maxBytes     int64

	// owned by the guest goroutine.
	ready        events                 // decoded events waiting to be read by poll, in order
	readyReplies int                    // how many of ready are replies
	pending      map[uint64]outgoing    // calls this guest dispatched, by call id
	incoming     map[uint64]replyTarget // calls this guest is serving, by the id it was given
	handles      []route.Endpoint       // located services; handle h is handles[h-1]
	exported     map[string]bool
	fixesSaid    map[string]bool // proto services the host said a manifest fix for (sayManifestFix)
	// hasExported is set once the guest's current run has exported a
	// service, and read by Run's goroutine when the guest is late to be
	// ready: its main has reached its serving call then (a generated RunXxx
	// exports, then calls guest.Run, which runs the service's Ready).
	hasExported atomic.Bool
	// exiting is set when the guest's current run calls ExitSelf (see
	// hostExiting).
	exiting atomic.Bool
	methods map[string]*string // method names seen, interned: no allocation per call
	nextID  uint64
	// onBehalf is the incoming call (by the id the guest was given) the
	// guest runs on behalf of since its last poll: the call poll handed
	// it, or the call that made the call whose reply poll handed it (see
	// behalf); zero for none (a timer, background work, a poll's wait).
	// When the guest ends, that call is what it was running; the others
	// it had taken are bystanders (see close).
	onBehalf uint64
	// behalf holds, by the id of a call the guest dispatched while it ran
	// on behalf of an incoming call, that incoming call's id, until poll
	// hands the guest the reply.
	behalf  map[uint64]uint64
	timer   *time.Timer
	timerAt int64 // when timer fires (Unix nanoseconds); zero when it is stopped or has fired
	// soonest is no later than the earliest deadline in pending (zero:
	// not known), so that expire looks through pending only once it has
	// passed, not at every poll.
	soonest int64
	// lookedAt is when next last looked at the time (Unix nanoseconds),
	// for what it returned; zero when it did not need to.
	lookedAt int64

	serving atomic.Int64 // calls taken from the inbox and not yet answered
	dropped atomic.Int64 // calls dropped unrun because their caller's deadline had passed
	given   atomic.Int64 // calls dropped unrun because their caller gave them up (route.Abandoner)

	readyOnce sync.Once
	readyCh   chan struct{} // closed when the guest calls ready
	// readyWaiter, when set, is closed (and cleared) when the guest next
	// calls ready: a reload waits on it for a new version. Owned by the
	// guest goroutine, which sets it before the new version starts.
	readyWaiter chan struct{}
	// hold keeps new calls in the inbox, untaken, while a reload waits for
	// the running version to finish the calls it has (see run.swap).
	hold atomic.Bool
	// swapTo is the new version a reload is swapping in (see run.swap).
	swapTo atomic.Pointer[swap]
	// starting is the reload's new version while it starts, until it
	// calls ready: it holds the version it replaced, which serves again
	// should the new one end before then (see run.supervise). Owned by
	// the guest goroutine.
	starting *swap
	// up is set while the guest's current run has said it is ready and
	// has not ended: a call that can go to another replica (route.Mover)
	// is not queued here while it is not (see stalled).
	up atomic.Bool
	// restarting is set from the decision to start the guest again after
	// a failure until its inbox opens again (see run.supervise): a call
	// that can go to another replica is refused Stalled rather than
	// Ended meanwhile, through the restart's wait (Backoff) too.
	restarting atomic.Bool
	stop       context.CancelFunc // set by Run's goroutine before the guest starts
	stopping   atomic.Bool        // the host asked the guest to stop: its end is not a failure

	rt       wazero.Runtime
	compiled wazero.CompiledModule

	// Overrun watch: set by the guest goroutine, read by the watchdog.
	// busySince is when the guest's last poll returned (Unix nanos: it
	// took a call, or woke for a reply or a timer); 0 while it polls; and
	// its negation once the watchdog has decided to stop it for that work
	// (see decideStop and backAtPoll, the only writers of a negative
	// value, which decide by it who came first).
	busySince   atomic.Int64
	busyMethod  atomic.Pointer[string] // the method of the call it took then; betweenCalls for none; afterAnswer once it answered that call
	overrunSeen atomic.Int64           // busySince of the last overrun acted on
	// clockRestarted is the busySince the watchdog last set for what a
	// guest runs after an answer (see restartClock); set by the
	// watchdog's goroutine only.
	clockRestarted atomic.Int64
	overran        atomic.Pointer[overrun]
	// stoppedInPoll is set when a poll of the guest's current run
	// returned StatusShutdown: its run was stopped there, not in its
	// code (see overrunTrace).
	stoppedInPoll atomic.Bool
	killMu        sync.Mutex
	kill          context.CancelFunc // stops the current run of the guest

	// endedNotes are the lines EndedBy keeps, to be said after the line
	// that says how the guest ended (sayEndedNotes), which follows the
	// guest's own stack trace.
	notesMu    sync.Mutex
	endedNotes []string
	// panicMessage is the value of the panic that ended the guest's last
	// run, if that was one: see PanicMessage. Guarded by notesMu.
	panicMessage string

	memory  memorySeen       // with metrics on: see observe.go
	current abi.TraceContext // owned; tracing on: the span the guest runs on behalf of (see observe.go)
	// logTrace is current for logTag, with LogJSON or Lines and tracing on; nil
	// when the guest runs on behalf of no traced call.
	logTrace atomic.Pointer[abi.TraceContext]
}

func (in *instance) setKill(f context.CancelFunc) {
	in.killMu.Lock()
	in.kill = f
	in.killMu.Unlock()
}

// decideStop decides to stop the guest for the work it has been busy
// with since since (Unix nanos, as busySince held it at the watchdog's
// look), and reports whether it did: not when the guest has come back to
// its poll meanwhile (or its run ended), since then it is no longer busy
// with that work. It and backAtPoll swap one word, so exactly one of
// "the guest came back" and "the stop was decided" comes first. The
// caller that decided must then stop the guest (killNow), which the
// guest, should it come back after all, waits for.
func (in *instance) decideStop(since int64) bool {
	return since > 0 && in.busySince.CompareAndSwap(since, -since)
}

// backAtPoll notes that the guest has come back to the host from its
// work (its poll, or the end of its run), and reports whether the
// watchdog had decided to stop it first (see decideStop).
func (in *instance) backAtPoll() (stopDecided bool) {
	return in.busySince.Swap(0) < 0
}

func (in *instance) killNow() {
	in.killMu.Lock()
	defer in.killMu.Unlock()
	if in.kill != nil {
		in.kill()
	}
}

// reset readies a guest that ended for another run: its inbox opens again
// and what it knew of calls is forgotten (close answered them all). Call ids
// keep counting, so a late reply can never match a new call.
func (in *instance) reset() {
	in.ready.reset()
	in.pending = make(map[uint64]outgoing)
	in.incoming = make(map[uint64]replyTarget)
	in.onBehalf = 0
	clear(in.behalf)
	in.handles = nil
	in.exported = make(map[string]bool)
	in.hasExported.Store(false)
	in.mu.Lock()
	in.closed = false
	in.restarting.Store(false)
	in.mu.Unlock()
}

// delivery is an event on its way into a guest, with what the host needs to
// route the reply to an incoming call.
type delivery struct {
	ev   abi.Event
	from route.Endpoint // KindCall: the caller
	at   int64          // KindCall when the run observes calls: when it was pushed (Unix nanos)
}

type outgoing struct {
	method   string
	callee   route.Endpoint
	deadline int64 // Unix nanoseconds (see unixNano)
	// inherited: the deadline is what was left of the caller's own, which
	// came before the callee's budget ran out.
	inherited bool
	trace     abi.TraceContext // tracing on: the span the call was made on behalf of
}

type replyTarget struct {
	caller route.Endpoint
	callID uint64 // the caller's id for the call
	method string
	seen   *callSeen // what metrics and tracing note of the call; nil when the run has neither
}

// Deliver implements route.Endpoint.
func (in *instance) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	return in.push(delivery{ev: ev, from: from})
}

// Serving says whether the guest takes calls now: it has said it is ready,
// and it has neither ended (a restart opens it again) nor been asked to
// stop. The gateway's health service reports it (see native.Prober).
func (in *instance) Serving() bool {
	select {
	case <-in.readyCh:
	default:
		return false
	}
	if in.stopping.Load() {
		return false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return !in.closed
}

// GuestName implements route.Endpoint.
func (in *instance) GuestName() string { return in.spec.Name }

// DeadLettered says that a message of topic, delivered to this service,
// was dead-lettered (package state's DeliveryWatcher): nothing else
// tells the user, short of reading the dead letters.
func (in *instance) DeadLettered(topic string, seq, attempts uint64, reason string) {
	in.run.say("parigot: %s %s: message %d of topic %s dead-lettered after %d attempts (%s); it is kept on the topic's dead letters (docs/STATE.md, \"Dead letters\")",
		in.spec.Kind, in.run.label(in), seq, topic, attempts, reason)
}

// EndedBy notes that a delivery of a message of topic ended this service
// (package state's DeliveryWatcher): the line that says the crash or
// overrun does not say which message the service was handling, nor that
// it comes again. The note is said after that line (sayEndedNotes).
func (in *instance) EndedBy(topic string, seq, attempt, maxAttempts uint64, reason string) {
	note := fmt.Sprintf("parigot: %s %s: message %d of topic %s was being handled when it ended (attempt %d of %d: %s); it is delivered again, and dead-lettered if attempt %d fails too ('parigot state dead %s' lists the dead letters)",
		in.spec.Kind, in.run.label(in), seq, topic, attempt, maxAttempts, reason, maxAttempts, topic)
	in.notesMu.Lock()
	in.endedNotes = append(in.endedNotes, note)
	in.notesMu.Unlock()
}

// PanicMessage is the value of the panic that ended the service's last
// run ("index out of range [3] with length 3"), as the guest printed it,
// or "" (it ended otherwise, or printed none): package state's
// DeliveryWatcher, which adds it to the reason of a dead letter whose
// delivery ended the service. Callers' errors do not carry it: a
// gateway's client is no one to read a service's internals.
func (in *instance) PanicMessage() string {
	in.notesMu.Lock()
	defer in.notesMu.Unlock()
	return in.panicMessage
}

func (in *instance) setPanicMessage(m string) {
	in.notesMu.Lock()
	in.panicMessage = m
	in.notesMu.Unlock()
}

// sayEndedNotes says the notes EndedBy kept since it was last called.
func (in *instance) sayEndedNotes() {
	in.notesMu.Lock()
	defer in.notesMu.Unlock()
	for _, n := range in.endedNotes {
		in.run.say("%s", n)
	}
	in.endedNotes = nil
}

// MethodTimeout implements route.Endpoint.
func (in *instance) MethodTimeout() time.Duration {
	if in.debugging() {
		return DebugBudget
	}
	return in.spec.MethodTimeout
}

func newInstance(r *run, spec *GuestSpec) *instance {
	calls, bytes := spec.Inbox()
	return &instance{
		spec:     spec,
		run:      r,
		maxCalls: int64(calls),
		maxBytes: int64(bytes),
		wake:     make(chan struct{}, 1),
		pending:  make(map[uint64]outgoing),
		incoming: make(map[uint64]replyTarget),
		exported: make(map[string]bool),
		methods:  make(map[string]*string),
		readyCh:  make(chan struct{}),
	}
}

// push hands d to the guest, unless the guest has ended or, for a call, its
// inbox is at its bounds. A reply that would take the guest's waiting bytes
// over their bound arrives as a resource-exhausted error in its place, so
// that the call still completes exactly once and the host's memory stays
// bounded whatever the guest does.
func (in *instance) push(d delivery) route.Refusal {
	size := waitingSize(&d.ev)
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		if m, ok := d.from.(route.Mover); ok && d.ev.Kind == abi.KindCall && in.restarting.Load() && m.Movable() {
			return route.Stalled // it waits to start again: another replica takes it
		}
		return route.Ended
	}
	switch d.ev.Kind {
	case abi.KindCall:
		if m, ok := d.from.(route.Mover); ok && m.Movable() && in.stalled(unixNano()) {
			in.mu.Unlock()
			return route.Stalled
		}
		if in.atBounds(size) && (in.dropGivenUp(unixNano()) == 0 || in.atBounds(size)) {
			in.mu.Unlock()
			return route.Full
		}
		in.waitingCalls.Add(1)
	case abi.KindReply:
		if in.waitingBytes.Load()+size > in.maxBytes {
			d.ev = abi.ErrorEvent(d.ev.CallID, abi.CodeResourceExhausted,
				fmt.Sprintf("a reply of %d bytes was dropped: %s %s had %d MiB of replies it had not read yet", size, in.spec.Kind, in.spec.Name, in.maxBytes>>20))
			size = waitingSize(&d.ev)
		}
	}
	in.waitingBytes.Add(size)
	if in.run.observing && d.ev.Kind == abi.KindCall {
		d.at = unixNano()
	}
	in.queue = append(in.queue, d)
	in.queued.Store(true)
	in.mu.Unlock()
	// queued is stored before parked is loaded, and next stores parked
	// before it loads queued: one of the two sees the other's store, so
	// a guest never parks with its queue full and no token.
	if in.parked.Load() {
		select {
		case in.wake <- struct{}{}:
		default:
		}
	}
	return route.Accepted
}

// atBounds reports whether a call of size bytes would take the inbox
// past its bounds. An inbox holding nothing takes any one call, whatever
// its size (inbox_bytes is at least the largest request, but a gateway's
// call carries its headers too).
func (in *instance) atBounds(size int64) bool {
	waiting := in.waitingBytes.Load()
	return in.waitingCalls.Load() >= in.maxCalls || waiting > 0 && waiting+size > in.maxBytes
}

// dropGivenUp drops the calls in the inbox, not yet drained, whose caller
// gave them up, as the guest would on reaching them (dropUnwantedCalls),
// and says how many; in.mu is held. A full inbox makes room so before it
// refuses a call: the calls of clients that opened streams and reset them
// at once (HTTP/2's rapid reset), which came while the guest was busy,
// filled it, and a live call beside them was refused as overloaded. At
// now, it looks only if it has not looked in vain within
// givenUpLookEvery: an inbox full of live calls refuses the next ones
// without going through it each time.
func (in *instance) dropGivenUp(now int64) int {
	if now-in.swept < int64(givenUpLookEvery) {
		return 0
	}
	kept := in.queue[:0]
	for _, d := range in.queue {
		if d.ev.Kind == abi.KindCall && d.ev.Abandonable {
			if a, ok := d.from.(route.Abandoner); ok && a.Abandoned(d.ev.CallID) {
				in.waitingCalls.Add(-1)
				in.waitingBytes.Add(-waitingSize(&d.ev))
				in.given.Add(1)
				continue
			}
		}
		kept = append(kept, d)
	}
	dropped := len(in.queue) - len(kept)
	clear(in.queue[len(kept):]) // what was dropped: payloads and callers
	in.queue = kept
	if len(kept) == 0 {
		in.queued.Store(false)
	}
	if dropped == 0 {
		in.swept = now
	}
	return dropped
}

// givenUpLookEvery bounds how often a full inbox looks for calls given up
// in vain (dropGivenUp).
const givenUpLookEvery = time.Millisecond

// stalled reports whether, at now (Unix nanoseconds), the guest would not
// take a call soon: its current run has not said it is ready (it is
// starting again after a failure), or it has been busy for longer than
// its method budget without polling (a method, or code of no call, that
// does not return; after an answer, measured as the watchdog does: see
// restartClock). A call that can go to another replica goes there
// instead (route.Mover). A guest under a debugger has no such budget.
func (in *instance) stalled(now int64) bool {
	if !in.up.Load() {
		return true
	}
	since := in.busySince.Load()
	if since < 0 { // its stop is decided: it takes no call again in this run
		return true
	}
	return since != 0 && !in.debugging() && time.Duration(now-since) > in.spec.MethodTimeout && !in.answeredUnseen(since)
}

// shed hands back the calls waiting in the inbox that can go to another
// replica (route.Mover) once the guest is stalled at now: they were queued
// before it was, behind a method that then ran past its budget, and would
// wait for it until their deadline or its stop. The watchdog calls it at
// each look; the callers are told from a goroutine of their own, so that
// a slow one cannot hold the watchdog.
func (in *instance) shed(now int64) {
	if !in.queued.Load() || !in.stalled(now) {
		return
	}
	in.mu.Lock()
	kept := in.queue[:0]
	var moved []route.Mover
	for _, d := range in.queue {
		if m, ok := d.from.(route.Mover); ok && d.ev.Kind == abi.KindCall && m.Movable() {
			moved = append(moved, m)
			in.waitingCalls.Add(-1)
			in.waitingBytes.Add(-waitingSize(&d.ev))
			continue
		}
		kept = append(kept, d)
	}
	clear(in.queue[len(kept):]) // what was moved: payloads and callers
	in.queue = kept
	if len(kept) == 0 {
		in.queued.Store(false)
	}
	in.mu.Unlock()
	if len(moved) > 0 {
		go func() {
			for _, m := range moved {
				m.Moved()
			}
		}()
	}
}

// complete completes one of the guest's own calls without a reply from its
// callee (a deadline, a refusal): the event waits for poll like any other.
func (in *instance) complete(ev abi.Event) {
	in.waitingBytes.Add(waitingSize(&ev))
	in.ready.push(ev)
	in.readyReplies++
}

// waitingSize is what ev counts toward the bytes waiting for the guest
// (inbox_bytes): its payload, and the request headers a gateway's call
// carries.
func waitingSize(ev *abi.Event) int64 { return int64(len(ev.Payload) + len(ev.Header())) }

// taken notes that the guest has read ev: it waits no longer.
func (in *instance) taken(ev *abi.Event) {
	switch ev.Kind {
	case abi.KindCall:
		in.waitingCalls.Add(-1)
	case abi.KindReply:
		in.readyReplies--
	}
	in.waitingBytes.Add(-waitingSize(ev))
}

// close marks the guest ended and fails every call it had not answered, so
// that each caller's future completes (with "unavailable") instead of waiting
// for its deadline. A call it never took that can go to another replica
// (route.Mover), in its inbox or drained and not yet polled, is handed back
// instead. A call the guest had taken ends as an answered call does for the
// metrics and traces (observeCall): it reached the service, and its end is
// the service's doing.
func (in *instance) close(reason string) {
	in.up.Store(false)
	in.mu.Lock()
	in.closed = true
	queue := in.queue
	in.queue = nil
	in.queued.Store(false)
	in.mu.Unlock()
	// The calls the guest had not taken yet (queued, or drained and not
	// polled) say so: they never reached its method.
	notTaken := map[uint64]bool{}
	for _, ev := range in.ready.buf[in.ready.head:] {
		if ev.Kind == abi.KindCall {
			notTaken[ev.CallID] = true
		}
	}
	for _, d := range queue {
		if m, ok := d.from.(route.Mover); ok && d.ev.Kind == abi.KindCall && m.Movable() {
			m.Moved() // another replica takes it
			continue
		}
		if d.ev.Kind == abi.KindCall {
			d.from.Deliver(abi.ErrorEvent(d.ev.CallID, abi.CodeUnavailable, reason+route.NotTaken), nil)
		}
	}
	for id, t := range in.incoming {
		if notTaken[id] {
			// Drained with a call the guest took first (one that then
			// ran past its budget, say), it never reached the method.
			if m, ok := t.caller.(route.Mover); ok && m.Movable() {
				m.Moved()
				continue
			}
			t.caller.Deliver(abi.ErrorEvent(t.callID, abi.CodeUnavailable, reason+route.NotTaken), nil)
			continue
		}
		ev := abi.ErrorEvent(t.callID, abi.CodeUnavailable, reason)
		// Taken, but not what the guest was running when it ended: it
		// waited (on a store write, a call of its own) while another call
		// or code of no call ended the guest.
		ev.Bystander = id != in.onBehalf
		ev.Ended = !ev.Bystander
		if t.seen != nil { // it reached the service: counted, and a span, as an answered call
			in.observeCall(t, ev.Code, ev.Payload)
		}
		t.caller.Deliver(ev, nil)
	}
	in.ready.reset()
	in.readyReplies = 0
	in.incoming = nil
	in.serving.Store(0)
	in.waitingCalls.Store(0)
	in.waitingBytes.Store(0)
}

// next returns the guest's next event, waiting up to timeout (forever when
// negative). ok is false on timeout; shutdown is true when the guest must stop.
func (in *instance) next(ctx context.Context, timeout time.Duration) (ev abi.Event, ok, shutdown bool) {
	var giveUp <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		giveUp = t.C
	}
	spun := false
	for {
		in.drain()
		in.lookedAt = 0
		if len(in.pending) > 0 {
			in.lookedAt = unixNano()
			in.expire(in.lookedAt)
		}
		in.dropUnwantedCalls()
		if in.ready.len() > 0 {
			return *in.ready.front(), true, false
		}
		if timeout == 0 { // a look, not a wait: a guest with background work
			return abi.Event{}, false, ctx.Err() != nil
		}
		if !spun && in.spin(pollSpin()) {
			spun = true
			continue
		}
		spun = true
		var deadline <-chan time.Time
		if d, has := in.earliestDeadline(); has {
			in.armTimer(d)
			deadline = in.timer.C
		}
		in.parked.Store(true)
		if in.queued.Load() { // pushed since the drain, maybe without a token
			in.parked.Store(false)
			continue
		}
		parked := time.Now()
		in.run.awake.Add(-1) // it wants no processor meanwhile (see spin)
		timedOut, stopped := false, false
		select {
		case <-in.wake:
		case <-deadline:
			in.timerAt = 0
		case <-giveUp:
			timedOut = true
		case <-ctx.Done():
			stopped = true
		}
		in.run.awake.Add(1)
		in.parked.Store(false)
		if timedOut || stopped {
			return abi.Event{}, false, stopped
		}
		in.lastWait = time.Since(parked) // long after a deadline, when nothing came soon: no spin next time
	}
}

// dropUnwantedCalls drops the calls first in line whose caller's
// deadline has passed, or whose caller gave them up (a gateway's client
// that hung up): their callers have their answer already, so running
// them would only spend the service's time for nobody, and make the
// calls behind them wait. It looks at each call once, as the guest is
// about to take it: a call taken runs to its end.
func (in *instance) dropUnwantedCalls() {
	for in.ready.len() > 0 && in.ready.front().Kind == abi.KindCall {
		ev := in.ready.front()
		switch {
		case ev.Deadline > 0 && in.expiredAt(ev.Deadline):
			in.dropped.Add(1)
		case ev.Abandonable && in.abandoned(ev.CallID):
			in.given.Add(1)
		default:
			return
		}
		if _, ok := in.incoming[ev.CallID]; ok {
			delete(in.incoming, ev.CallID)
			in.serving.Add(-1)
		}
		in.pop()
	}
}

// expiredAt reports whether deadline (Unix nanoseconds) has passed, by
// the time next looked at, or looks at now.
func (in *instance) expiredAt(deadline int64) bool {
	if in.lookedAt == 0 {
		in.lookedAt = unixNano()
	}
	return deadline <= in.lookedAt
}

// abandoned reports whether the caller of the incoming call id gave it
// up (see abi.Event.Abandonable).
func (in *instance) abandoned(id uint64) bool {
	t, ok := in.incoming[id]
	if !ok {
		return false
	}
	a, ok := t.caller.(route.Abandoner)
	return ok && a.Abandoned(t.callID)
}

// armTimer makes in.timer fire at d (Unix nanoseconds), leaving it alone
// when it already does.
func (in *instance) armTimer(d int64) {
	if in.timer == nil {
		in.timer = time.NewTimer(time.Duration(d - unixNano()))
		in.timerAt = d
		return
	}
	if d == in.timerAt {
		return
	}
	in.timer.Reset(time.Duration(d - unixNano()))
	in.timerAt = d
}

// pop removes the event next returned: the guest has it now.
func (in *instance) pop() {
	in.taken(in.ready.front())
	in.ready.pop()
}

// events is a queue of events that keeps its array. A slice popped by
// slicing off its first element gives up that slot for good, so a guest
// with several events waiting (calls in flight, replies coming in) made
// the next append allocate a new array again and again.
type events struct {
	buf  []abi.Event
	head int // buf[head:] wait, in order
}

func (q *events) len() int { return len(q.buf) - q.head }

// front is the first event waiting; the queue must not be empty.
func (q *events) front() *abi.Event { return &q.buf[q.head] }

func (q *events) push(ev abi.Event) {
	if q.head > 0 && len(q.buf) == cap(q.buf) { // full: move what waits to the front first
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, ev)
}

// pop drops the first event, references and all.
func (q *events) pop() {
	q.buf[q.head] = abi.Event{}
	q.head++
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}
}

func (q *events) reset() { q.buf, q.head = nil, 0 }

// drain moves the inbox into ready, turning incoming calls into events with
// ids of this guest's own, and dropping replies to calls that already
// completed (a late reply after a deadline: the caller has its answer).
func (in *instance) drain() {
	in.mu.Lock()
	queue := in.queue
	in.queue = in.spare[:0]
	in.queued.Store(false)
	in.mu.Unlock()
	defer func() {
		clear(queue) // drop references to payloads and callers
		in.spare = queue
	}()
	holding := in.hold.Load()
	var held []delivery
	for _, d := range queue {
		switch d.ev.Kind {
		case abi.KindCall:
			if holding {
				held = append(held, d)
				continue
			}
			_, in.peerIsGuest = d.from.(*instance)
			in.nextID++
			id := in.nextID
			t := replyTarget{caller: d.from, callID: d.ev.CallID, method: d.ev.Method}
			if d.at != 0 {
				t.seen = in.seeCall(&d)
			}
			in.incoming[id] = t
			in.serving.Add(1)
			ev := d.ev
			ev.CallID = id
			in.ready.push(ev)
		case abi.KindReply:
			out, ok := in.pending[d.ev.CallID]
			if !ok {
				in.waitingBytes.Add(-waitingSize(&d.ev)) // late: the call had its answer already
				continue
			}
			_, in.peerIsGuest = out.callee.(*instance)
			if in.run.trace != nil {
				d.ev.Trace = in.pending[d.ev.CallID].trace
			}
			delete(in.pending, d.ev.CallID)
			in.ready.push(d.ev)
			in.readyReplies++
		default:
			in.ready.push(d.ev)
		}
	}
	if len(held) > 0 { // back in the inbox, ahead of what came since
		// queued stays as pushes left it: held calls are nothing this
		// guest's poll can take, so they must not stop it from parking.
		in.mu.Lock()
		in.queue = append(held, in.queue...)
		in.mu.Unlock()
	}
}

// expire completes every call whose deadline has passed at now (Unix
// nanoseconds) with "deadline exceeded".
func (in *instance) expire(now int64) {
	if in.soonest != 0 && now < in.soonest {
		return
	}
	var soonest int64
	for id, o := range in.pending {
		if now < o.deadline {
			if soonest == 0 || o.deadline < soonest {
				soonest = o.deadline
			}
			continue
		}
		delete(in.pending, id)
		if c, ok := o.callee.(route.Canceller); ok {
			c.Cancel(id, in, true) // its service is in another process: tell it
		}
		msg := deadlineText(o, in)
		in.complete(abi.ErrorEvent(id, abi.CodeDeadlineExceeded, msg))
	}
	in.soonest = soonest
}

// giveUpRequests gives up the requests to external APIs (http endpoints:
// the resources that can be told, route.Canceller) that the guest's run,
// which has just ended, had in flight: nobody is left to read their
// responses, so they end now rather than at their deadlines, whether the
// guest exited, trapped, or was stopped. Its calls to services, and its
// store and topic operations, go on: a service answers a call whose
// caller ended as it answers any other, in every mode. Called on the
// guest's goroutine, once its run has ended.
func (in *instance) giveUpRequests() {
	for id, o := range in.pending {
		if _, ok := o.callee.(route.Resource); !ok {
			continue
		}
		if c, ok := o.callee.(route.Canceller); ok {
			c.Cancel(id, in, false)
		}
	}
}

// deadlineText is the message of a call from caller that got no reply
// before its deadline: its callee's budget, or (a store, topic or http
// endpoint) its timeout, or the deadline the call inherited. An
// operation on a resource inherits the deadline of the method that sent
// it, whose service's budget is then what to raise: an API's latency
// easily outlasts the default 50ms.
func deadlineText(o outgoing, caller route.Endpoint) string {
	if _, ok := o.callee.(route.Resource); ok {
		if o.inherited {
			return fmt.Sprintf("no reply from %s before the deadline of the method of service %s that sent it (its budget of %s, or its own caller's deadline when sooner), which came before the timeout of %s; give %s a method_timeout in parigot.hcl that covers the wait",
				o.callee.GuestName(), caller.GuestName(), caller.MethodTimeout(), o.callee.MethodTimeout(), caller.GuestName())
		}
		return fmt.Sprintf("no reply from %s within its timeout of %s", o.callee.GuestName(), o.callee.MethodTimeout())
	}
	if o.inherited {
		return fmt.Sprintf("no reply from service %s before the deadline this call inherited from its caller (its own budget is %s)", o.callee.GuestName(), o.callee.MethodTimeout())
	}
	return fmt.Sprintf("no reply from service %s within its method budget of %s", o.callee.GuestName(), o.callee.MethodTimeout())
}

// intern returns the interned copy of a method name read from guest memory,
// allocating only the first time a name is seen. Names are bounded by
// maxName and a guest has few methods; a guest that invents names costs
// one map entry each, which the per-guest lifetime bounds.
func (in *instance) intern(b []byte) *string {
	if p, ok := in.methods[string(b)]; ok { // no allocation for the lookup
		return p
	}
	return in.internString(string(b))
}

// internString is intern for a name already in host memory.
func (in *instance) internString(s string) *string {
	if p, ok := in.methods[s]; ok {
		return p
	}
	if len(in.methods) >= maxInterned {
		return &s
	}
	in.methods[s] = &s
	return &s
}

// maxInterned bounds the interned method names of one guest.
const maxInterned = 4096

// earliestDeadline is the earliest deadline in pending, in Unix
// nanoseconds.
func (in *instance) earliestDeadline() (int64, bool) {
	var min int64
	for _, o := range in.pending {
		if min == 0 || o.deadline < min {
			min = o.deadline
		}
	}
	return min, min != 0
}

// dispatch starts a call from this guest to callee. A call the callee
// refuses completes at once, with the refusal's code.
//
// Its deadline is the callee's budget from now, or the caller's own deadline
// (Unix nanoseconds, 0 for none), less answerMargin, when that comes first:
// a call made while serving another never outlives it.
func (in *instance) dispatch(callee route.Endpoint, method string, payload []byte, callerDeadline int64) uint64 {
	in.nextID++
	id := in.nextID
	now := unixNano()
	o := outgoing{method: method, callee: callee, deadline: now + int64(callee.MethodTimeout())}
	if callerDeadline > 0 {
		if d := callerDeadline - answerMargin(callerDeadline-now); d < o.deadline {
			o.deadline, o.inherited = d, true
		}
	}
	ev := abi.Event{Kind: abi.KindCall, CallID: id, Deadline: o.deadline, Method: method, Payload: payload}
	if in.run.trace != nil {
		o.trace, ev.Trace = in.current, in.current
	}
	in.pending[id] = o
	if in.onBehalf != 0 {
		if in.behalf == nil {
			in.behalf = make(map[uint64]uint64)
		}
		in.behalf[id] = in.onBehalf
	}
	if in.soonest == 0 || o.deadline < in.soonest {
		in.soonest = o.deadline
	}
	if r := callee.Deliver(ev, in); r != route.Accepted {
		delete(in.pending, id)
		in.complete(route.Refuse(r, id, callee.GuestName()))
	}
	return id
}

// answerMargin is how much sooner than the call it serves a call inherits
// its deadline, when left (nanoseconds) remain of that call's: a
// sixteenth of it, at most maxAnswerMargin. Were the two deadlines the
// same instant, the caller up the chain would time out as its callee
// learned why (the service below that looped, the API that did not
// answer), and say only that its callee did not answer; with the margin,
// the callee learns it first and has time to pass it on, so the error at
// the head of the chain names the link that held it up. On a machine too
// starved to answer within the margin, the head says its own expiry, as
// it would without one.
func answerMargin(left int64) int64 {
	return max(0, min(left/16, int64(maxAnswerMargin)))
}

// maxAnswerMargin bounds answerMargin: a call with minutes left needs no
// more than this to carry an error back.
const maxAnswerMargin = 100 * time.Millisecond

// inFlight is how many calls the guest has dispatched and not yet read the
// replies of.
func (in *instance) inFlight() int { return len(in.pending) + in.readyReplies }

// reply answers the incoming call id.
func (in *instance) reply(id uint64, code abi.Code, payload []byte) bool {
	t, ok := in.incoming[id]
	if !ok {
		return false
	}
	delete(in.incoming, id)
	in.serving.Add(-1)
	if id == in.onBehalf && in.spec.Kind == Service {
		// It has answered what it ran on behalf of: what it runs until
		// its next poll is code of no call, measured from the watchdog's
		// next look, not from the poll that handed it the call (see
		// restartClock). The calls it took before and has not answered
		// wait (on a call of its own, a store), not run.
		in.busyMethod.Store(afterAnswer)
	}
	if t.seen != nil {
		in.observeCall(t, code, payload)
	}
	t.caller.Deliver(abi.Event{Kind: abi.KindReply, Code: code, CallID: t.callID, Payload: payload}, nil)
	return true
}

// idle reports whether the guest has no call waiting for it and none that
// it took and has not answered. Safe from any goroutine.
func (in *instance) idle() bool {
	return in.waitingCalls.Load() == 0 && in.serving.Load() == 0
}
