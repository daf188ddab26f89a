package split

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/internal/route"
)

// fakeService is a local service endpoint without wasm: it answers each
// call with its name and the request, at once or, while held, when
// released.
type fakeService struct {
	name string
	mu   sync.Mutex
	hold bool
	held []func()
	got  chan abi.Event // each call, as it arrives; may be nil
}

func (f *fakeService) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	if f.got != nil {
		f.got <- ev
	}
	answer := func() {
		from.Deliver(abi.Event{Kind: abi.KindReply, CallID: ev.CallID, Payload: append([]byte(f.name+":"), ev.Payload...)}, nil)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hold {
		f.held = append(f.held, answer)
		return route.Accepted
	}
	answer()
	return route.Accepted
}
func (f *fakeService) GuestName() string            { return "echo" }
func (f *fakeService) MethodTimeout() time.Duration { return time.Second }

// release answers the calls held so far.
func (f *fakeService) release() {
	f.mu.Lock()
	held := f.held
	f.held, f.hold = nil, false
	f.mu.Unlock()
	for _, a := range held {
		a()
	}
}

// serveFake serves test.Echo from f as a replica of echo on srv, the way
// a child hosting echo does, and returns its Network.
func serveFake(t *testing.T, srv *Server, f *fakeService) *Network {
	t.Helper()
	return serveOn(t, NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo"), f)
}

// serveOn serves test.Echo from f as a replica of echo on n, which it
// closes when the test ends.
func serveOn(t testing.TB, n *Network, f route.Endpoint) *Network {
	t.Helper()
	if err := n.Serve("echo", []string{"test.Echo"}, f); err != nil {
		t.Fatal(err)
	}
	if err := n.Ready("echo"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// callerAs is a Network of the program who, once echo is ready.
func callerAs(t *testing.T, srv *Server, who string) *Network {
	t.Helper()
	return callerWhenReady(t, NewNetwork(connectAs(t, srv, who), "test", identityGuests(), who))
}

// callerWhenReady returns n once echo is ready, and closes it when the
// test ends.
func callerWhenReady(t testing.TB, n *Network) *Network {
	t.Helper()
	if err := n.WaitReady(t.Context(), []string{"echo"}, patience, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// callMsgs is how many calls the NATS server delivered to echo's
// subscription on its call subject.
func callMsgs(t *testing.T, srv *Server) uint64 {
	t.Helper()
	return srv.CallsCarried("test.Echo")
}

// callSubs are the subscriptions the NATS server has to echo's call
// subject, one per replica that takes calls.
func callSubs(t *testing.T, srv *Server) []server.SubDetail {
	t.Helper()
	cz, err := srv.ns.Connz(&server.ConnzOptions{SubscriptionsDetail: true})
	if err != nil {
		t.Fatal(err)
	}
	var subs []server.SubDetail
	for _, c := range cz.Conns {
		for _, s := range c.SubsDetail {
			if s.Subject == "parigot.test.call.test.Echo" {
				subs = append(subs, s)
			}
		}
	}
	return subs
}

// askedFlushed is how many requests for offers n has sent, once the NATS
// server has taken each of them: a request is counted after it is
// published, and published without waiting for the server, so without the
// flush callMsgs may not count it yet.
func askedFlushed(t *testing.T, n *Network) int64 {
	t.Helper()
	asked := n.client.asked.Load()
	if err := n.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return asked
}

// next is the next event r was given, or a failure after patience.
func (r replies) next(t *testing.T) abi.Event {
	t.Helper()
	select {
	case ev := <-r:
		return ev
	case <-time.After(patience):
		t.Fatal("no reply")
		return abi.Event{}
	}
}

func call(id uint64, payload string) abi.Event {
	return abi.Event{Kind: abi.KindCall, CallID: id, Method: "test.Echo/Echo", Payload: []byte(payload),
		Deadline: time.Now().Add(patience).UnixNano()}
}

func TestCallsOnOneMachineGoOverADirectConnectionNotThroughTheNATSServer(t *testing.T) {
	srv := startIdentityServer(t)
	serveFake(t, srv, &fakeService{name: "echo#1"})
	caller := callerAs(t, srv, "ticker")
	if known(caller, "echo") != 1 {
		t.Fatal("the caller has no direct connection to echo once echo is ready")
	}
	callsGoDirect(t, srv, caller)
}

// callsGoDirect makes 20 calls of echo#1 through caller and checks their
// replies, and that each went over a direct connection: the NATS server
// carried nothing on the call subject but the caller's requests for
// offers. (A caller asks more than once, though its first offer led to a
// connection: echo declares 2 replicas (identityGuests), and the caller
// goes on looking for the second, offerRequests(1) requests again every
// discoverEvery.)
func callsGoDirect(t *testing.T, srv *Server, caller *Network) {
	t.Helper()
	got := make(replies, 1)
	for i := range uint64(20) {
		caller.Service("test.Echo").Deliver(call(i, "hi"), got)
		if ev := got.next(t); ev.CallID != i || ev.Code != abi.CodeOK || string(ev.Payload) != "echo#1:hi" {
			t.Fatalf("call %d: got %+v (%q)", i, ev, ev.Payload)
		}
	}
	if asked, n := askedFlushed(t, caller), callMsgs(t, srv); n != uint64(asked) {
		t.Errorf("the NATS server carried %d messages on the call subject where the caller asked %d times for an offer: calls went through it", n, asked)
	}
	if n := caller.client.sent.Load(); n != 20 {
		t.Errorf("%d calls went over the direct connection, want 20", n)
	}
}

// callsOnceDirect makes call id of echo with "hi" through caller and
// checks that its reply is want and that it was the caller's sent-th call
// over a direct connection.
func callsOnceDirect(t *testing.T, caller *Network, id uint64, want string, sent int64) {
	t.Helper()
	got := make(replies, 1)
	caller.Service("test.Echo").Deliver(call(id, "hi"), got)
	if ev := got.next(t); ev.CallID != id || ev.Code != abi.CodeOK || string(ev.Payload) != want {
		t.Errorf("call %d got %+v (%q), want %q", id, ev, ev.Payload, want)
	}
	if n := caller.client.sent.Load(); n != sent {
		t.Errorf("%d calls went over the direct connection, want %d", n, sent)
	}
}

// startEchoChild starts the NATS server of guests and echo's wasm guest
// as its child runs it (RunChild), with directHost when not empty, and
// returns once echo is ready; both stop when the test ends. ctx ends
// then too.
func startEchoChild(t *testing.T, guests []*host.GuestSpec, directHost string) (*Server, context.Context, *lines.Buffer) {
	t.Helper()
	return startChild(t, guests, "echo", directHost)
}

// startChild is startEchoChild of the service name.
func startChild(t *testing.T, guests []*host.GuestSpec, name, directHost string) (*Server, context.Context, *lines.Buffer) {
	t.Helper()
	srv, err := StartServer("test", guests)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx, stop := context.WithCancel(t.Context())
	t.Cleanup(stop)
	ready := make(chan struct{})
	out := new(lines.Buffer)
	go RunChild(ctx, ChildOptions{App: "test", Guests: guests, Name: name, Conn: srv.Conn(name), Stdout: out, Stderr: out,
		Ready: func() { close(ready) }, DirectHost: directHost})
	<-ready
	return srv, ctx, out
}

// TestAProgramCallsAServiceInAnotherProcessDirectly runs echo and ticker
// as the hosts of their wasm guests (split.RunChild), on one machine: the
// program's calls all succeed, and none of them passes through the NATS
// server.
func TestAProgramCallsAServiceInAnotherProcessDirectly(t *testing.T) {
	guests := testGuests(t, 1)
	srv, ctx, echoOut := startEchoChild(t, guests, "")
	var out lines.Buffer
	res, err := RunChild(ctx, ChildOptions{App: "test", Guests: guests, Name: "ticker", Conn: srv.Conn("ticker"), Stdout: &out, Stderr: &out, ReadyTimeout: patience})
	if err != nil || res.ExitCode != 0 || !strings.Contains(out.String(), "done: ok=40 failed=0") {
		t.Fatalf("ticker: err %v, exit %d:\n%s\necho:\n%s", err, res.ExitCode, out.String(), echoOut.String())
	}
	// One message: the program's request for an offer, before it started.
	if n := callMsgs(t, srv); n != 1 {
		t.Errorf("the NATS server carried %d messages on the call subject, want 1 (the request for an offer): the calls went through it", n)
	}
}

func TestReplicasKnownDirectlyShareTheCalls(t *testing.T) {
	srv := startIdentityServer(t)
	serveFake(t, srv, &fakeService{name: "echo#1"})
	serveFake(t, srv, &fakeService{name: "echo#2"})
	caller := callerAs(t, srv, "ticker")
	// The second replica answers the caller's broadcast soon after the
	// first answered its readiness request.
	deadline := time.Now().Add(patience)
	for known(caller, "echo") < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the caller never learned of the second replica")
		}
		time.Sleep(10 * time.Millisecond)
	}
	got := make(replies, 1)
	served := map[string]int{}
	for i := range uint64(10) {
		caller.Service("test.Echo").Deliver(call(i, "x"), got)
		ev := got.next(t)
		name, _, _ := strings.Cut(string(ev.Payload), ":")
		served[name]++
	}
	if served["echo#1"] != 5 || served["echo#2"] != 5 {
		t.Errorf("calls served %v, want 5 by each replica in turn", served)
	}
	if asked, n := askedFlushed(t, caller), callMsgs(t, srv); n != uint64(asked) {
		t.Errorf("the NATS server carried %d messages on the call subject where the caller asked %d times for an offer", n, asked)
	}
}

// known is how many replicas of guest the caller has a direct connection to.
func known(n *Network, guest string) int {
	n.client.mu.Lock()
	defer n.client.mu.Unlock()
	if p := n.client.peers[guest]; p != nil {
		return len(p.conns)
	}
	return 0
}

func TestADirectConnectionThatBreaksMidCallFailsItsCallsWithUnavailable(t *testing.T) {
	// A replica that takes two calls, answers the first and dies.
	caller := callerOfAFakeReplica(t, replicaThatDies)
	got := twoCallsAcrossABreak(t, caller)
	// The broken replica is dropped, and it was echo's only one: the next
	// call fails at once, without going through NATS (directClient.lost).
	caller.Service("test.Echo").Deliver(call(3, "c"), got)
	if ev := got.next(t); ev.CallID != 3 || ev.Code != abi.CodeUnavailable || abi.ErrorMessage(ev.Payload) != route.UnavailableText("echo") {
		t.Errorf("a call after the break completed with %+v (%s), want unavailable at once", ev, abi.ErrorMessage(ev.Payload))
	}
	select {
	case ev := <-got:
		t.Errorf("a call completed twice: %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestOnlyAGuestThatRequiresAServiceCanCallItDirectly(t *testing.T) {
	srv := startIdentityServer(t)
	f := &fakeService{name: "echo#1", got: make(chan abi.Event, 8)}
	serveFake(t, srv, f)
	ticker := callerAs(t, srv, "ticker")

	// The offer echo made ticker, which a snoop would have to steal.
	ask := nats.NewMsg("parigot.test.call.test.Echo")
	ask.Header.Set(headerDirect, "offer")
	ask.Header.Set(headerDirectVersion, strconv.Itoa(directVersion))
	m, err := connectAs(t, srv, "ticker").RequestMsg(ask, patience)
	if err != nil {
		t.Fatal(err)
	}
	var stolen directOffer
	if err := json.Unmarshal(m.Data, &stolen); err != nil || stolen.Who != "ticker" || len(stolen.Token) == 0 {
		t.Fatalf("echo's readiness answer %q is no offer for ticker: %v", m.Data, err)
	}

	t.Run("a guest that does not require the service cannot ask it for an offer", func(t *testing.T) {
		gw := connectAs(t, srv, GatewayIdentity("public"))
		ask := nats.NewMsg("parigot.test.call.test.Echo")
		ask.Reply = "parigot.test.inbox._gateway-public.x"
		ask.Header.Set(headerDirect, "offer")
		gw.PublishMsg(ask)
		if !refused(t, gw) {
			t.Error("the server let a gateway that does not serve echo ask echo for an offer")
		}
	})
	for _, c := range []struct {
		name  string
		who   string
		token []byte
	}{
		{"another guest with the token offered to ticker is refused", "tocker", stolen.Token},
		{"a guest that does not require the service, with the token offered to ticker, is refused", GatewayIdentity("public"), stolen.Token},
		{"ticker with a token it made up is refused", "ticker", []byte("made up")},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := NewNetwork(connectAs(t, srv, c.who), "test", identityGuests(), c.who)
			defer n.Close()
			forged := stolen
			forged.Who, forged.Token, forged.Replica = c.who, c.token, "forged"
			connectIsRefused(t, n, forged)
		})
	}
	reachedNothing(t, f)
	got := make(replies, 1)
	ticker.Service("test.Echo").Deliver(call(1, "hi"), got)
	if ev := got.next(t); ev.Code != abi.CodeOK || string(ev.Payload) != "echo#1:hi" {
		t.Errorf("ticker, which requires echo, got %+v (%q)", ev, ev.Payload)
	}
}

// connectIsRefused checks that the replica refuses n's hello with offer,
// a token that is not n's own, and that n is left with no connection to
// it.
func connectIsRefused(t *testing.T, n *Network, offer directOffer) {
	t.Helper()
	b, _ := json.Marshal(offer)
	err := n.client.connect("echo", b)
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(re.Reason, n.who+" may not call service echo") {
		t.Errorf("%s connecting with a token that is not its own: %v, want a refusal", n.who, err)
	}
	if known(n, "echo") != 0 {
		t.Error("the refused connection is among the replicas calls go to")
	}
}

// reachedNothing checks that no call of a refused caller reached f.
func reachedNothing(t *testing.T, f *fakeService) {
	t.Helper()
	select {
	case ev := <-f.got:
		t.Errorf("a refused caller's call reached the service: %+v", ev)
	default:
	}
}

// TestADrainingReplicaFinishesItsDirectCallsAndTakesNoNewOnes stops a
// replica while a direct call waits in it: the call is answered, and a
// call made once StopServing has returned no longer reaches it (with no
// other replica, it fails with unavailable at once).
func TestADrainingReplicaFinishesItsDirectCallsAndTakesNoNewOnes(t *testing.T) {
	srv := startIdentityServer(t)
	f := &fakeService{name: "echo#1", hold: true, got: make(chan abi.Event, 8)}
	replica := serveFake(t, srv, f)
	caller := callerAs(t, srv, "ticker")
	got := make(replies, 4)
	caller.Service("test.Echo").Deliver(call(1, "in flight"), got)
	<-f.got
	replica.StopServing()
	caller.Service("test.Echo").Deliver(call(2, "late"), got)
	if ev := got.next(t); ev.CallID != 2 || ev.Code != abi.CodeUnavailable {
		t.Errorf("a call after the stop completed with %+v (%s), want unavailable", ev, abi.ErrorMessage(ev.Payload))
	}
	f.release()
	if ev := got.next(t); ev.CallID != 1 || ev.Code != abi.CodeOK || string(ev.Payload) != "echo#1:in flight" {
		t.Errorf("the call in flight completed with %+v (%q), want its reply", ev, ev.Payload)
	}
	select {
	case ev := <-f.got:
		t.Errorf("a call reached the replica after it stopped: %+v", ev)
	default:
	}
}

// TestAnOfferIsForTheGuestAskedAbout has a replica answer a request about
// another guest: the caller does not believe it.
func TestAnOfferIsForTheGuestAskedAbout(t *testing.T) {
	srv := startIdentityServer(t)
	caller := NewNetwork(connectAs(t, srv, "ticker"), "test", identityGuests(), "ticker")
	defer caller.Close()
	// A replica that welcomes any hello: only the guest the offer names
	// can keep the caller from connecting.
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			if kind, _, err := readFrame(bufio.NewReader(c)); err == nil && kind == frameHello {
				frameWriter{bufio.NewWriter(c)}.empty(frameWelcome)
			}
		}
	}()
	offer, _ := json.Marshal(directOffer{Guest: "faulty", Replica: "r", Machine: machineID(), Addr: ln.Addr().String(), Who: "ticker", Version: directVersion})
	caller.client.connect("echo", offer)
	if known(caller, "echo")+known(caller, "faulty") != 0 {
		t.Error("the caller took an offer for faulty as one for echo")
	}
}

// TestAGuestRestartedInItsProcessTakesTheDirectCalls serves echo again
// from a new endpoint, as the host does when it restarts a guest in its
// child: a caller's open connection reaches the new one.
func TestAGuestRestartedInItsProcessTakesTheDirectCalls(t *testing.T) {
	srv := startIdentityServer(t)
	replica := serveFake(t, srv, &fakeService{name: "first"})
	caller := callerAs(t, srv, "ticker")
	if err := replica.Serve("echo", []string{"test.Echo"}, &fakeService{name: "restarted"}); err != nil {
		t.Fatal(err)
	}
	callsOnceDirect(t, caller, 1, "restarted:hi", 1) // the restarted guest's reply
}

// TestAMethodTooLongForACallFrameKeepsTheDirectConnection: such a call
// goes over NATS, where the service refuses it, and the caller's
// connection to the replica stays among those calls go to.
func TestAMethodTooLongForACallFrameKeepsTheDirectConnection(t *testing.T) {
	srv := startIdentityServer(t)
	serveFake(t, srv, &fakeService{name: "echo#1"})
	caller := callerAs(t, srv, "ticker")
	if known(caller, "echo") != 1 {
		t.Fatal("the caller has no direct connection to echo")
	}
	got := make(replies, 1)
	long := call(1, "x")
	long.Method = "test.Echo/" + strings.Repeat("m", maxMethod)
	caller.Service("test.Echo").Deliver(long, got)
	if ev := got.next(t); ev.CallID != 1 || ev.Code != abi.CodeInvalidArgument {
		t.Errorf("a call with an overlong method completed with %+v (%s), want invalid argument", ev, abi.ErrorMessage(ev.Payload))
	}
	if known(caller, "echo") != 1 {
		t.Error("a call with an overlong method dropped the direct connection")
	}
	callsOnceDirect(t, caller, 2, "echo#1:hi", 1) // the next call, over the connection kept
}

// TestAReplicaThatBeganToStopOffersNoSocket: a request for an offer that
// reaches a replica once its StopServing has begun (one that waited
// behind a call, which the drain still hands over) is answered with no
// offer: the socket is about to close, and a caller sent there would only
// be told to go away.
func TestAReplicaThatBeganToStopOffersNoSocket(t *testing.T) {
	srv := startIdentityServer(t)
	f := &fakeService{name: "echo#1", got: make(chan abi.Event)} // each call waits for the test to take it
	replica := serveFake(t, srv, f)
	ticker := NewNetwork(connectAs(t, srv, "ticker"), "test", identityGuests(), "ticker")
	defer ticker.Close()
	got := make(replies, 1)
	ticker.Service("test.Echo").Deliver(call(1, "before the stop"), got) // over NATS: ticker knows no replica directly
	replica.mu.Lock()
	calls := replica.serving[0] // echo's call subscription
	replica.mu.Unlock()
	// The call and the request for an offer come over two connections, so
	// the server may order them either way: ask only once the call is in.
	// Pending counts the call its callback has in hand too.
	waitFor(t, "the call to reach the replica", func() bool { n, _, _ := calls.Pending(); return n >= 1 })

	offered := make(chan *nats.Msg, 1)
	asker := connectAs(t, srv, "ticker")
	go func() {
		ask := nats.NewMsg("parigot.test.call.test.Echo")
		ask.Header.Set(headerDirect, "offer")
		ask.Header.Set(headerDirectVersion, strconv.Itoa(directVersion))
		m, err := asker.RequestMsg(ask, patience)
		if err != nil {
			t.Error(err)
		}
		offered <- m
	}()
	waitFor(t, "the request for an offer to wait behind the call", func() bool { n, _, _ := calls.Pending(); return n >= 2 })
	stopped := make(chan struct{})
	go func() {
		replica.StopServing()
		close(stopped)
	}()
	waitFor(t, "the stop to begin", calls.IsDraining)
	<-f.got // the call goes on; the request for an offer is next
	if m := <-offered; m != nil && len(m.Data) != 0 {
		t.Errorf("a replica that began to stop offered %s", m.Data)
	}
	if ev := got.next(t); ev.CallID != 1 || ev.Code != abi.CodeOK {
		t.Errorf("the call made before the stop completed with %+v (%s), want its reply", ev, abi.ErrorMessage(ev.Payload))
	}
	<-stopped
}

// waitFor waits until cond holds, or fails the test after patience.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", patience, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// callerOfAFakeReplica is ticker's Network, connected directly to one
// replica of echo that serve plays on a socket of its own (closed when the
// test ends).
func callerOfAFakeReplica(t *testing.T, serve func(net.Listener)) *Network {
	t.Helper()
	return callerOfAFakeReplicaOn(t, startIdentityServer(t), serve)
}

// callerOfAFakeReplicaOn is callerOfAFakeReplica on the server srv.
func callerOfAFakeReplicaOn(t *testing.T, srv *Server, serve func(net.Listener)) *Network {
	t.Helper()
	caller := NewNetwork(connectAs(t, srv, "ticker"), "test", identityGuests(), "ticker")
	t.Cleanup(func() { caller.Close() })
	connectFakeReplica(t, caller, "r1", serve)
	return caller
}

// connectFakeReplica connects caller directly to one more replica of
// echo, named replica, that serve plays on a socket of its own (closed
// when the test ends).
func connectFakeReplica(t *testing.T, caller *Network, replica string, serve func(net.Listener)) {
	t.Helper()
	before := known(caller, "echo")
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go serve(ln)
	offer, _ := json.Marshal(directOffer{Guest: "echo", Replica: replica, Machine: machineID(), Addr: ln.Addr().String(), Who: "ticker", Token: []byte("t"), Version: directVersion})
	if err := caller.client.connect("echo", offer); err != nil || known(caller, "echo") != before+1 {
		t.Fatalf("the caller did not connect to replica %s: %v", replica, err)
	}
}

// welcomeOne accepts one caller on ln, as a fake replica of echo, and
// welcomes its hello; ok is false (and the connection closed) when none
// came.
func welcomeOne(ln net.Listener) (c net.Conn, r *bufio.Reader, w frameWriter, ok bool) {
	c, err := ln.Accept()
	if err != nil {
		return nil, nil, w, false
	}
	r = bufio.NewReader(c)
	w = frameWriter{bufio.NewWriter(c)}
	if kind, _, err := readFrame(r); err != nil || kind != frameHello {
		c.Close()
		return nil, nil, w, false
	}
	w.empty(frameWelcome)
	return c, r, w, true
}

// replicaThatDies serves ln as a replica of echo that welcomes one caller,
// takes two calls, answers the first and dies.
func replicaThatDies(ln net.Listener) {
	c, r, w, ok := welcomeOne(ln)
	if !ok {
		return
	}
	defer c.Close()
	var ids []uint64
	for len(ids) < 2 {
		kind, body, err := readFrame(r)
		if err != nil || kind != frameCall {
			return
		}
		f := frameReader{b: body}
		ids = append(ids, f.u64())
	}
	w.reply(ids[0], abi.CodeOK, []byte("first"))
}

// twoCallsAcrossABreak makes calls 1 and 2 of echo through caller, whose
// one replica is a replicaThatDies: the first must complete with its
// reply, the second with unavailable. It returns where the replies of
// caller's later calls go.
func twoCallsAcrossABreak(t *testing.T, caller *Network) replies {
	t.Helper()
	got := make(replies, 4)
	caller.Service("test.Echo").Deliver(call(1, "a"), got)
	caller.Service("test.Echo").Deliver(call(2, "b"), got)
	first, second := got.next(t), got.next(t)
	if first.CallID != 1 || first.Code != abi.CodeOK || string(first.Payload) != "first" {
		t.Errorf("the answered call completed with %+v, want its reply", first)
	}
	if second.CallID != 2 || second.Code != abi.CodeUnavailable || !strings.Contains(abi.ErrorMessage(second.Payload), "service echo is not running: its connection closed during the call") {
		t.Errorf("the call in flight when the connection broke completed with %+v (%s), want unavailable", second, abi.ErrorMessage(second.Payload))
	}
	return got
}

// replicaThatStopsReading welcomes a caller and then reads nothing more,
// as a stopped or hostile process does, until done.
func replicaThatStopsReading(ln net.Listener, done <-chan struct{}) {
	c, err := ln.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if kind, _, err := readFrame(r); err != nil || kind != frameHello {
		return
	}
	frameWriter{bufio.NewWriter(c)}.empty(frameWelcome)
	<-done
}

// A replica that stops reading holds a caller's call no longer than the
// call's deadline: the write gives up, the connection is dropped, and the
// call completes (over NATS, where no replica answers: unavailable).
func TestAReplicaThatStopsReadingDoesNotHoldItsCaller(t *testing.T) {
	done := make(chan struct{})
	defer close(done)
	caller := callerOfAFakeReplica(t, func(ln net.Listener) { replicaThatStopsReading(ln, done) })
	got := make(replies, 8)
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		for i := range 4 { // far more than the socket's buffers hold
			ev := call(uint64(i+1), strings.Repeat("x", 1<<20))
			ev.Deadline = time.Now().Add(200 * time.Millisecond).UnixNano()
			caller.Service("test.Echo").Deliver(ev, got)
		}
	}()
	select {
	case <-delivered:
	case <-time.After(time.Minute): // a hang fails, not a bound on the test's time
		t.Fatal("the caller is still writing to a replica that does not read")
	}
	for range 4 {
		if ev := got.next(t); ev.Code != abi.CodeUnavailable {
			t.Errorf("call %d completed with %v, want unavailable", ev.CallID, ev.Code)
		}
	}
}

// A caller whose only direct connection to a service broke fails its
// calls to it at once, without NATS, until a replica of it answers a
// request for an offer: here one that serves over NATS only, which the
// calls then reach through the server.
func TestAfterABreakCallsGoThroughNATSOnceAReplicaServesThere(t *testing.T) {
	srv := startIdentityServer(t)
	caller := callerOfAFakeReplicaOn(t, srv, replicaThatDies)
	caller.client.want("echo") // it looks for echo's replicas from now on, as a child does
	got := twoCallsAcrossABreak(t, caller)
	overNATS := NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo")
	overNATS.natsOnly = true
	serveOn(t, overNATS, &fakeService{name: "echo#2"})
	deadline := time.Now().Add(patience)
	for id := uint64(3); ; id++ {
		caller.Service("test.Echo").Deliver(call(id, "x"), got)
		ev := got.next(t)
		if ev.Code == abi.CodeOK {
			if ev.CallID != id || string(ev.Payload) != "echo#2:x" {
				t.Errorf("the call completed with %+v, want echo#2's reply", ev)
			}
			return
		}
		if ev.CallID != id || ev.Code != abi.CodeUnavailable || abi.ErrorMessage(ev.Payload) != route.UnavailableText("echo") {
			t.Fatalf("a call while echo was down to its caller completed with %+v (%s), want unavailable", ev, abi.ErrorMessage(ev.Payload))
		}
		if time.Now().After(deadline) {
			t.Fatal("the calls never reached the replica that serves over NATS")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// frozenReplica plays a replica of echo whose process is stopped
// (SIGSTOP) while its connection stays open: it takes its caller's calls
// and answers none until thaw is closed, then answers them all, and every
// later one, with its name. took counts the calls it was sent.
type frozenReplica struct {
	name string
	thaw chan struct{}
	took atomic.Int64
}

func (f *frozenReplica) serve(ln net.Listener) {
	c, r, w, ok := welcomeOne(ln)
	if !ok {
		return
	}
	defer c.Close()
	calls := make(chan uint64, 1024)
	go func() {
		defer close(calls)
		for {
			kind, body, err := readFrame(r)
			if err != nil {
				return
			}
			if kind == frameCall || kind == frameMovable {
				f.took.Add(1)
				calls <- (&frameReader{b: body}).u64()
			}
		}
	}()
	<-f.thaw
	for id := range calls {
		if w.reply(id, abi.CodeOK, []byte(f.name)) != nil {
			return
		}
	}
}

// A replica that takes calls and answers none (its process stopped, its
// machine cut off, its connection open all the same) is passed over once
// it has been quiet past its method budget and grace: the calls go to the
// replica that answers, the quiet one gets one call a pause to find out
// whether it answers again, and once it does it takes its share again.
func TestCallsPassOverAReplicaThatAnswersNothing(t *testing.T) {
	frozen := &frozenReplica{name: "r1", thaw: make(chan struct{})}
	answering := &frozenReplica{name: "r2", thaw: make(chan struct{})}
	close(answering.thaw)
	caller := callerOfAFakeReplica(t, frozen.serve)
	connectFakeReplica(t, caller, "r2", answering.serve)
	got := make(replies, 1024)
	echo := caller.Service("test.Echo")
	id := uint64(0)
	send := func() {
		id++
		echo.Deliver(call(id, "x"), got)
	}
	// Two calls go one to each replica in turn.
	send()
	send()
	if ev := got.next(t); string(ev.Payload) != "r2" {
		t.Fatalf("call %d completed with %+v, want r2's reply", ev.CallID, ev)
	}
	waitFor(t, "r1 to take the other call", func() bool { return frozen.took.Load() == 1 })
	cc := connTo(t, caller, "r1")
	waitFor(t, "r1 to be quiet past echo's budget (1s) and grace", func() bool {
		since := cc.unheardSince.Load()
		return since != 0 && time.Since(time.Unix(0, since)) > quietAfter(time.Second)
	})
	before, start := frozen.took.Load(), time.Now()
	const calls = 50
	for range calls {
		send()
	}
	sending := time.Since(start)
	// Each call is answered by r2 or taken by r1.
	deadline := time.Now().Add(patience)
	for answered := int64(0); answered+frozen.took.Load()-before < calls; {
		select {
		case ev := <-got:
			if string(ev.Payload) != "r2" {
				t.Fatalf("call %d completed with %+v, want r2's reply", ev.CallID, ev)
			}
			answered++
		case <-time.After(10 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatalf("of %d calls, r2 answered %d and r1 took %d", calls, answered, frozen.took.Load()-before)
			}
		}
	}
	// One call a pause (echo's budget, a second) finds out whether the
	// quiet replica answers again: without passing over it, half go to it.
	probes := frozen.took.Load() - before
	if allowed := 1 + int64(sending/pauseFor(time.Second)); probes > allowed {
		t.Errorf("the quiet replica took %d of %d calls, want at most %d", probes, calls, allowed)
	}
	// Thawed, it answers the calls it took, and takes new ones again.
	close(frozen.thaw)
	thawed := id
	for {
		send()
		for done := false; !done; {
			ev := got.next(t)
			if ev.CallID > thawed && string(ev.Payload) == "r1" {
				return
			}
			done = ev.CallID == id
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// connTo is caller's direct connection to replica of echo.
func connTo(t *testing.T, caller *Network, replica string) *clientConn {
	t.Helper()
	caller.client.mu.Lock()
	defer caller.client.mu.Unlock()
	for _, cc := range caller.client.peers["echo"].conns {
		if cc.replica == replica {
			return cc
		}
	}
	t.Fatalf("no connection to replica %s", replica)
	return nil
}

// A call that waits its turn to write on a direct connection (the calls
// of a burst before it, or, on a loaded machine, a processor) past the
// least its write may take is still written, once its turn comes: its
// write's bound was counted from before the wait, so it timed out before
// it began, and closed the connection, failing every call in flight on
// it with "service echo is not running", though echo ran.
func TestACallThatWaitsItsTurnToWriteDoesNotBreakItsDirectConnection(t *testing.T) {
	srv := startIdentityServer(t)
	f := &fakeService{name: "echo#1", hold: true}
	serveFake(t, srv, f)
	caller := callerAs(t, srv, "ticker")
	waitFor(t, "the caller to connect to echo", func() bool { return known(caller, "echo") == 1 })
	caller.client.mu.Lock()
	cc := caller.client.peers["echo"].conns[0]
	caller.client.mu.Unlock()
	inFlight := make(replies, 1)
	caller.Service("test.Echo").Deliver(call(1, "in flight"), inFlight)
	waitFor(t, "echo to hold the first call", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.held) == 1
	})

	// The second call's turn to write comes only once the least bound
	// of a write has passed since it was made.
	cc.wmu.Lock()
	waiting := make(replies, 1)
	second := call(2, "waited")
	second.Deadline = time.Now().Add(time.Millisecond).UnixNano()
	go caller.Service("test.Echo").Deliver(second, waiting)
	waitFor(t, "the second call to wait for its turn", func() bool {
		cc.mu.Lock()
		defer cc.mu.Unlock()
		return len(cc.pending) == 2
	})
	time.Sleep(writeBound(1) + 50*time.Millisecond)
	cc.wmu.Unlock()

	waitFor(t, "echo to hold the second call, or the first to fail", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.held) == 2 || len(inFlight) > 0
	})
	f.release()
	for _, r := range []replies{inFlight, waiting} {
		if ev := r.next(t); ev.Code != abi.CodeOK {
			t.Errorf("call %d: %v %s, want its reply", ev.CallID, ev.Code, abi.ErrorMessage(ev.Payload))
		}
	}
}
