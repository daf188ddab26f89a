package split

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/internal/route"
)

// otherVersions are the direct protocol's versions a process of this one
// meets during a rolling restart: the one before, which said none, and
// the one after.
var otherVersions = []int{1, directVersion + 1}

// viaService answers each call at once with its name and the request,
// and tells got where the call came from: over NATS (a *remoteCaller)
// or over a direct connection (a *directCaller).
type viaService struct {
	name string
	got  chan route.Endpoint
}

func newViaService(name string) *viaService {
	return &viaService{name: name, got: make(chan route.Endpoint, 64)}
}

func (s *viaService) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	s.got <- from
	from.Deliver(abi.Event{Kind: abi.KindReply, CallID: ev.CallID, Payload: append([]byte(s.name+":"), ev.Payload...)}, nil)
	return route.Accepted
}
func (s *viaService) GuestName() string            { return "echo" }
func (s *viaService) MethodTimeout() time.Duration { return time.Second }

// callsOnceThroughNATS makes 20 calls of echo through caller, whose only
// replica s answers them, and checks that each completes once with its
// reply, and reaches s once, through the NATS server.
func callsOnceThroughNATS(t *testing.T, caller *Network, s *viaService) {
	t.Helper()
	if n := known(caller, "echo"); n != 0 {
		t.Fatalf("the caller has %d direct connections to echo, want none", n)
	}
	got := make(replies, 2)
	for i := range uint64(20) {
		caller.Service("test.Echo").Deliver(call(i, "hi"), got)
		if ev := got.next(t); ev.CallID != i || ev.Code != abi.CodeOK || string(ev.Payload) != s.name+":hi" {
			t.Fatalf("call %d completed with %+v (%q), want %s's reply", i, ev, ev.Payload, s.name)
		}
		if from := <-s.got; fmt.Sprintf("%T", from) != "*split.remoteCaller" {
			t.Fatalf("call %d reached the replica from a %T, want through the NATS server", i, from)
		}
	}
	select {
	case ev := <-got:
		t.Errorf("a call completed twice: %+v", ev)
	case from := <-s.got:
		t.Errorf("a call reached the replica twice, the second time from a %T", from)
	case <-time.After(50 * time.Millisecond):
	}
	if n := caller.client.sent.Load(); n != 0 {
		t.Errorf("%d calls went over a direct connection, want none", n)
	}
}

// expectSaidOnce checks that said holds line once, after the caller has asked
// for offers again (and been answered) a few times.
func expectSaidOnce(t *testing.T, caller *Network, said *lines.Buffer, line string) {
	t.Helper()
	asked := askedFlushed(t, caller)
	waitFor(t, "the caller to ask for offers again", func() bool { return caller.client.asked.Load() >= asked+2*int64(offerRequests(2)) })
	// The answers to its last requests are on their way: those before
	// them arrived, since one NATS connection keeps the order.
	if err := caller.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(said.String(), line+"\n"); n != 1 {
		t.Errorf("said %d times %q, want once; all that was said:\n%s", n, line, said.String())
	}
}

// A caller meets replicas of another version of the direct protocol while
// some of the app's machines (--only), or its replicas one by one, run
// another parigot: one of version 1, which says none, reads a frame kind
// it does not know (given) as a broken connection. The caller makes no
// direct connection to such a replica: it says so once, and its calls go
// through the NATS server, each completing once.
func TestAReplicaOfAnotherVersionIsCalledThroughNATS(t *testing.T) {
	for _, v := range otherVersions {
		t.Run(fmt.Sprintf("version %d", v), func(t *testing.T) {
			srv := startIdentityServer(t)
			var replicaSaid, callerSaid lines.Buffer
			replica := NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo")
			replica.version, replica.warn = v, &replicaSaid
			if v > 1 {
				replica.label = "echo#2" // version 1 named itself in no offer
			}
			s := newViaService("echo#2")
			serveOn(t, replica, s)
			caller := NewNetwork(connectAs(t, srv, "ticker"), "test", identityGuests(), "ticker")
			caller.warn = &callerSaid
			callerWhenReady(t, caller)
			// The offer the replica makes a caller of its own version,
			// with its socket and a token: one of version 1 made every
			// caller such an offer.
			b := replica.direct.offer("echo", replica.subj.inbox("")+"ticker.1", v)
			var o directOffer
			if err := json.Unmarshal(b, &o); err != nil || o.Addr == "" || o.Token == nil {
				t.Fatalf("the replica made no offer: %s, %v", b, err)
			}
			if v == 1 { // as version 1 wrote it: without a version
				var fields map[string]any
				json.Unmarshal(b, &fields)
				delete(fields, "version")
				b, _ = json.Marshal(fields)
			}
			if err := caller.client.connect("echo", b); err != nil {
				t.Errorf("connect: %v", err)
			}
			callsOnceThroughNATS(t, caller, s)
			name := "replica echo#2"
			if v == 1 {
				name = "a replica of echo"
			}
			expectSaidOnce(t, caller, &callerSaid, fmt.Sprintf("parigot: ticker: %s speaks direct protocol v%d, this process v%d: its calls go through the NATS server", name, v, directVersion))
			// The replica, of this code, says it too (one of version 1 says nothing).
			expectSaidOnce(t, caller, &replicaSaid, fmt.Sprintf("parigot: echo: ticker speaks direct protocol v%d, this process v%d: its calls to echo come through the NATS server", directVersion, v))
		})
	}
}

// A replica asked for an offer by a caller of another version (one of
// version 1 says none in its request) offers it no way to connect: an
// offer without a socket, TCP address or token, which a caller of
// version 1 took for one of a replica that serves over NATS only. The
// caller's calls come through the NATS server, and the replica says so
// once.
func TestACallerOfAnotherVersionCallsThroughNATS(t *testing.T) {
	for _, v := range otherVersions {
		t.Run(fmt.Sprintf("version %d", v), func(t *testing.T) {
			srv := startIdentityServer(t)
			var replicaSaid lines.Buffer
			replica := NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo")
			replica.warn, replica.directHost = &replicaSaid, "127.0.0.1"
			s := newViaService("echo#1")
			serveOn(t, replica, s)

			ask := nats.NewMsg("parigot.test.call.test.Echo")
			ask.Header.Set(headerDirect, "offer")
			if v != 1 {
				ask.Header.Set(headerDirectVersion, fmt.Sprint(v))
			}
			m, err := connectAs(t, srv, "ticker").RequestMsg(ask, patience)
			if err != nil {
				t.Fatal(err)
			}
			var o directOffer
			if err := json.Unmarshal(m.Data, &o); err != nil || o.Guest != "echo" || o.Who != "ticker" || o.version() != directVersion {
				t.Fatalf("the replica answered %s (%v), want an offer of version %d", m.Data, err, directVersion)
			}
			if o.Addr != "" || o.TCP != "" || o.Token != nil {
				t.Errorf("the replica offered a caller of version %d a way to connect: %s", v, m.Data)
			}

			caller := NewNetwork(connectAs(t, srv, "ticker"), "test", identityGuests(), "ticker")
			caller.version = v
			callerWhenReady(t, caller)
			callsOnceThroughNATS(t, caller, s)
			expectSaidOnce(t, caller, &replicaSaid, fmt.Sprintf("parigot: echo: ticker speaks direct protocol v%d, this process v%d: its calls to echo come through the NATS server", v, directVersion))
		})
	}
}

// A hello of another version than the replica's is refused, with why, and
// said on the replica's log: a caller connects only to a replica whose
// offer says its own version, so such a hello comes from a caller that
// took another replica's offer, or from no caller. A hello of the
// replica's own version is welcome.
func TestAHelloOfAnotherVersionIsRefused(t *testing.T) {
	srv := startIdentityServer(t)
	var said lines.Buffer
	replica := NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo")
	replica.warn = &said
	serveOn(t, replica, &fakeService{name: "echo#1"})
	for _, v := range otherVersions {
		c, err := net.Dial("unix", replica.direct.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r, w := bufio.NewReader(c), frameWriter{bufio.NewWriter(c)}
		if err := w.hello(v, "echo", "ticker", replica.direct.token("echo", "ticker")); err != nil {
			t.Fatal(err)
		}
		kind, body, err := readFrame(r)
		want := fmt.Sprintf("this replica speaks direct protocol v%d, the caller v%d: its calls go through the NATS server", directVersion, v)
		if err != nil || kind != frameRefused || string(body) != want {
			t.Errorf("a hello of version %d was answered %d %q (%v), want refused: %q", v, kind, body, err, want)
		}
		who := "ticker"
		if v > directVersion {
			who = "the caller" // a hello of a later version is read no further
		}
		line := fmt.Sprintf(": %s speaks direct protocol v%d, this process v%d: it may not connect directly\n", who, v, directVersion)
		waitFor(t, "the refusal to be said", func() bool { return strings.Contains(said.String(), line) })
	}
	dialAs(t, replica, "ticker") // welcomed
}

// A caller whose hello a replica refuses for its version, though the
// replica's offer said the caller's (a process that took over the socket
// of one that ended, say), calls it through the NATS server, each call
// completing once.
func TestACallerRefusedForItsVersionCallsThroughNATS(t *testing.T) {
	for _, v := range otherVersions {
		t.Run(fmt.Sprintf("version %d", v), func(t *testing.T) {
			srv := startIdentityServer(t)
			replica := NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo")
			replica.version = v
			s := newViaService("echo#1")
			serveOn(t, replica, s)
			var o directOffer
			if err := json.Unmarshal(replica.direct.offer("echo", replica.subj.inbox("")+"ticker.1", v), &o); err != nil || o.Addr == "" {
				t.Fatalf("the replica made no offer: %+v, %v", o, err)
			}
			o.Version = directVersion
			b, _ := json.Marshal(o)
			caller := NewNetwork(connectAs(t, srv, "ticker"), "test", identityGuests(), "ticker")
			t.Cleanup(func() { caller.Close() })
			var re *RefusedError
			if err := caller.client.connect("echo", b); !errors.As(err, &re) || re.Reason != fmt.Sprintf("this replica speaks direct protocol v%d, the caller v%d: its calls go through the NATS server", v, directVersion) {
				t.Errorf("connecting to a replica of version %d: %v, want its refusal", v, err)
			}
			callsOnceThroughNATS(t, caller, s)
		})
	}
}
