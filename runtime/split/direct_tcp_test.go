package split

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/internal/route"
)

// Two Networks of one test process stand for processes on two machines
// when they are given different machine ids: a caller then may not dial
// the replica's socket, as on another machine, and takes its TCP address
// when the replica has one.

// onMachine has n behave as a process on the machine named id; before it
// serves or calls.
func onMachine(n *Network, id string) *Network {
	n.machine = id
	return n
}

// serveFakeOn is serveFake on machine, listening for other machines on
// TCP at host ("" for none).
func serveFakeOn(t testing.TB, srv *Server, f *fakeService, machine, host string) *Network {
	t.Helper()
	n := onMachine(NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo"), machine)
	n.directHost = host
	return serveOn(t, n, f)
}

// callerOn is callerAs on machine.
func callerOn(t testing.TB, srv *Server, who, machine string) *Network {
	t.Helper()
	return callerWhenReady(t, networkOn(t, srv, who, machine))
}

// networkOn is the Network of identity who on machine, which has asked
// for no offer yet (closed when the test ends).
func networkOn(t testing.TB, srv *Server, who, machine string) *Network {
	t.Helper()
	n := onMachine(NewNetwork(connectAs(t, srv, who), "test", identityGuests(), who), machine)
	t.Cleanup(func() { n.Close() })
	return n
}

// connNetworks is the network of each direct connection n has to guest.
func connNetworks(n *Network, guest string) []string {
	n.client.mu.Lock()
	defer n.client.mu.Unlock()
	var nets []string
	if p := n.client.peers[guest]; p != nil {
		for _, cc := range p.conns {
			nets = append(nets, cc.c.RemoteAddr().Network())
		}
	}
	return nets
}

// TestADirectCallerTakesTheWayItsMachineHas: a replica with a direct host
// offers its socket and its TCP address; a caller on another machine
// dials the address, and its calls go over TCP, while one on the
// replica's machine takes the socket.
func TestADirectCallerTakesTheWayItsMachineHas(t *testing.T) {
	for _, tc := range []struct{ machine, want string }{
		{"machine-b", "tcp"},  // another machine
		{"machine-a", "unix"}, // the replica's
	} {
		t.Run(tc.machine, func(t *testing.T) {
			srv := startIdentityServer(t)
			serveFakeOn(t, srv, &fakeService{name: "echo#1"}, "machine-a", "127.0.0.1")
			caller := callerOn(t, srv, "ticker", tc.machine)
			if nets := connNetworks(caller, "echo"); len(nets) != 1 || nets[0] != tc.want {
				t.Fatalf("the caller on %s has direct connections over %v, want one over %s", tc.machine, nets, tc.want)
			}
			if tc.want == "tcp" {
				callsGoDirect(t, srv, caller)
			}
		})
	}
}

// A replica that cannot listen at its direct host (an address of no
// interface here, which only a race past CheckDirectHost could give it)
// says so, and still answers calls from another machine, through NATS.
func TestADirectHostThatCannotBeListenedAtIsReportedAndNATSTakesTheCalls(t *testing.T) {
	srv := startIdentityServer(t)
	var warned lines.Buffer
	n := onMachine(NewNetwork(connectAs(t, srv, "echo"), "test", identityGuests(), "echo"), "machine-a")
	n.directHost = "192.0.2.1" // TEST-NET-1: no machine's own address
	n.warn = &warned
	replica := serveOn(t, n, &fakeService{name: "echo#1"})
	if replica.direct == nil || replica.direct.tcp != nil {
		t.Fatalf("the replica has direct server %v; want its socket, without TCP", replica.direct)
	}
	if got := warned.String(); !strings.HasPrefix(got, "parigot: echo: cannot listen at 192.0.2.1 for direct calls from other machines (") ||
		!strings.HasSuffix(got, "); those calls go through the NATS server\n") {
		t.Errorf("the replica said %q; want why it cannot listen, and where the calls go", got)
	}
	caller := callerOn(t, srv, "ticker", "machine-b")
	got := make(replies, 1)
	caller.Service("test.Echo").Deliver(call(1, "hi"), got)
	if ev := got.next(t); ev.Code != abi.CodeOK || string(ev.Payload) != "echo#1:hi" {
		t.Fatalf("the call got %+v (%q), want the replica's answer", ev, ev.Payload)
	}
}

func TestWithoutADirectHostACallFromAnotherMachineGoesThroughNATS(t *testing.T) {
	srv := startIdentityServer(t)
	replica := serveFakeOn(t, srv, &fakeService{name: "echo#1"}, "machine-a", "")
	if replica.direct.tcp != nil {
		t.Fatal("a replica without a direct host listens on TCP")
	}
	caller := callerOn(t, srv, "ticker", "machine-b")
	if known(caller, "echo") != 0 {
		t.Fatal("a caller on another machine has a direct connection to a replica without a direct host")
	}
	got := make(replies, 1)
	for i := range uint64(5) {
		caller.Service("test.Echo").Deliver(call(i, "hi"), got)
		if ev := got.next(t); ev.CallID != i || ev.Code != abi.CodeOK || string(ev.Payload) != "echo#1:hi" {
			t.Fatalf("call %d: got %+v (%q)", i, ev, ev.Payload)
		}
	}
	if asked, n := askedFlushed(t, caller), callMsgs(t, srv); n != uint64(asked)+5 {
		t.Errorf("the NATS server carried %d messages on the call subject, want %d requests for offers and 5 calls", n, asked)
	}
	if n := caller.client.sent.Load(); n != 0 {
		t.Errorf("%d calls went over a direct connection, want none", n)
	}
}

func TestATCPHelloWithAnotherCallersTokenIsRefused(t *testing.T) {
	srv := startIdentityServer(t)
	f := &fakeService{name: "echo#1", got: make(chan abi.Event, 8)}
	replica := serveFakeOn(t, srv, f, "machine-a", "127.0.0.1")
	tocker := networkOn(t, srv, "tocker", "machine-b")
	// The offer echo would make ticker, presented by tocker.
	stolen := directOffer{Guest: "echo", Replica: "forged", Machine: "machine-a", TCP: replica.direct.tcp.Addr().String(),
		TCPCert: replica.direct.tcpPin, Who: "tocker", Token: replica.direct.token("echo", "ticker"), Version: directVersion}
	connectIsRefused(t, tocker, stolen)
	reachedNothing(t, f)
}

// TestATCPConnectionThatSaysNothingOrGarbageIsClosed: anyone on the
// network may reach the listener; a connection that sends no hello, bytes
// that are no TLS handshake, or a caller's hello in clear (with a token
// that would be welcome over TLS) is closed without a welcome, and
// callers with a token go on.
func TestATCPConnectionThatSaysNothingOrGarbageIsClosed(t *testing.T) {
	srv := startIdentityServer(t)
	replica := serveFakeOn(t, srv, &fakeService{name: "echo#1"}, "machine-a", "127.0.0.1")
	replica.direct.mu.Lock()
	replica.direct.helloWait = 100 * time.Millisecond
	replica.direct.mu.Unlock()
	addr := replica.direct.tcp.Addr().String()
	// closed reads what the listener sends c (at most a TLS alert) until
	// it closes c, and checks that none of it welcomes a caller.
	closed := func(what string, c net.Conn) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(patience))
		sent, err := io.ReadAll(c)
		if err != nil {
			t.Errorf("%s: %v after %d bytes, want the connection closed", what, err, len(sent))
		}
		if kind, _, err := readFrame(bufio.NewReader(bytes.NewReader(sent))); err == nil && kind == frameWelcome {
			t.Errorf("%s: the listener welcomed it", what)
		}
	}
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	huge, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer huge.Close()
	var h [5]byte
	binary.BigEndian.PutUint32(h[:4], 1<<31) // a frame larger than any caller sends
	huge.Write(h[:])
	clear, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer clear.Close()
	w := frameWriter{bufio.NewWriter(clear)}
	if err := w.hello(directVersion, "echo", "ticker", replica.direct.token("echo", "ticker")); err != nil {
		t.Fatal(err)
	}
	caller := callerOn(t, srv, "ticker", "machine-b")
	closed("a frame too large for a hello", huge)
	closed("a hello in clear", clear)
	closed("no hello", silent)
	callsOnceDirect(t, caller, 1, "echo#1:hi", 1) // a caller with its token
}

// TestATCPConnectionThatBreaksFailsItsCallsAndLaterOnesGoThroughNATS: a
// replica on another machine that answers one of two calls and dies; the
// other call fails with unavailable, the next goes to a replica that
// serves over NATS.
func TestATCPConnectionThatBreaksFailsItsCallsAndLaterOnesGoThroughNATS(t *testing.T) {
	srv := startIdentityServer(t)
	overNATS := networkOn(t, srv, "echo", "machine-a")
	overNATS.natsOnly = true
	if err := overNATS.Serve("echo", []string{"test.Echo"}, &fakeService{name: "over NATS"}); err != nil {
		t.Fatal(err)
	}
	if err := overNATS.Ready("echo"); err != nil {
		t.Fatal(err)
	}
	caller := networkOn(t, srv, "ticker", "machine-b")

	cert, pin, err := replicaCert()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go replicaThatDies(listenTLS(ln, cert))
	offer, _ := json.Marshal(directOffer{Guest: "echo", Replica: "r1", Machine: "machine-a", Addr: "/nowhere/on/this/machine",
		TCP: ln.Addr().String(), TCPCert: pin, Who: "ticker", Token: []byte("t"), Version: directVersion})
	if err := caller.client.connect("echo", offer); err != nil || known(caller, "echo") != 1 {
		t.Fatalf("the caller did not connect to the replica over TCP: %v", err)
	}
	got := twoCallsAcrossABreak(t, caller)
	caller.Service("test.Echo").Deliver(call(3, "c"), got)
	if ev := got.next(t); ev.CallID != 3 || ev.Code != abi.CodeOK || string(ev.Payload) != "over NATS:c" {
		t.Errorf("a call after the break completed with %+v (%q), want the reply of the replica over NATS", ev, ev.Payload)
	}
	if n := caller.client.sent.Load(); n != 2 {
		t.Errorf("%d calls went over the direct connection, want 2", n)
	}
	select {
	case ev := <-got:
		t.Errorf("a call completed twice: %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
}

// theOffer is the offer replica makes the identity who, as it would
// answer who's request for one.
func theOffer(t *testing.T, replica *Network, who string) directOffer {
	t.Helper()
	var o directOffer
	if err := json.Unmarshal(replica.direct.offer("echo", replica.subj.inbox("")+who+".1", directVersion), &o); err != nil {
		t.Fatalf("the replica made no offer: %v", err)
	}
	return o
}

// TestACallerTrustsOnlyTheCertificateTheOfferNamed: a caller given an
// offer whose TCP address is answered with another certificate than the
// one the offer names (another process at the address, or someone in
// between) does not connect, and neither does one given an offer that
// names no certificate: it does not send its token, or its calls, in
// clear. Its calls stay on NATS.
func TestACallerTrustsOnlyTheCertificateTheOfferNamed(t *testing.T) {
	srv := startIdentityServer(t)
	f := &fakeService{name: "echo#1", got: make(chan abi.Event, 8)}
	replica := serveFakeOn(t, srv, f, "machine-a", "127.0.0.1")
	_, otherPin, err := replicaCert()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pin  []byte
		want string
	}{
		{"another certificate", otherPin, "not the one its offer named"},
		{"no certificate", nil, errNoPin.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			caller := networkOn(t, srv, "ticker", "machine-b")
			o := theOffer(t, replica, "ticker")
			o.TCPCert = tc.pin
			b, _ := json.Marshal(o)
			if err := caller.client.connect("echo", b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("connect: %v, want an error saying %q", err, tc.want)
			}
			if known(caller, "echo") != 0 {
				t.Error("the caller connected to the replica")
			}
			reachedNothing(t, f)
		})
	}
}

// TestACallBetweenMachinesCrossesTheNetworkEncrypted puts a relay that
// records every byte between a caller and a replica on another machine:
// the call and its reply go through, and neither the request, the reply
// nor the caller's token is among the bytes on the wire.
func TestACallBetweenMachinesCrossesTheNetworkEncrypted(t *testing.T) {
	srv := startIdentityServer(t)
	replica := serveFakeOn(t, srv, &fakeService{name: "echo#1"}, "machine-a", "127.0.0.1")
	relay, wire := recordingRelay(t, replica.direct.tcp.Addr().String())
	caller := networkOn(t, srv, "ticker", "machine-b")
	o := theOffer(t, replica, "ticker")
	o.TCP = relay
	b, _ := json.Marshal(o)
	if err := caller.client.connect("echo", b); err != nil {
		t.Fatalf("the caller did not connect through the relay: %v", err)
	}
	got := make(replies, 1)
	const secret = "the-request-nobody-else-reads"
	caller.Service("test.Echo").Deliver(call(1, secret), got)
	if ev := got.next(t); ev.Code != abi.CodeOK || string(ev.Payload) != "echo#1:"+secret {
		t.Fatalf("got %+v (%q), want the replica's reply", ev, ev.Payload)
	}
	if n := caller.client.sent.Load(); n != 1 {
		t.Fatalf("%d calls went over the direct connection, want 1", n)
	}
	seen := wire()
	if len(seen) == 0 {
		t.Fatal("nothing crossed the relay")
	}
	for what, b := range map[string][]byte{"the request": []byte(secret), "the caller's token": o.Token} {
		if bytes.Contains(seen, b) {
			t.Errorf("%s crossed the network in clear", what)
		}
	}
}

// recordingRelay listens on loopback and relays each connection to
// target, recording the bytes that cross it both ways; wire returns them.
func recordingRelay(t *testing.T, target string) (addr string, wire func() []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []byte
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	record := func(dst io.Writer, src io.Reader) {
		buf := make([]byte, 4096)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				mu.Lock()
				seen = append(seen, buf[:n]...)
				mu.Unlock()
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			go record(out, in)
			go record(in, out)
		}
	}()
	return ln.Addr().String(), func() []byte {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// arrivals is a service that tells each call it is given, and never answers.
type arrivals chan abi.Event

func (a arrivals) Deliver(ev abi.Event, _ route.Endpoint) route.Refusal {
	a <- ev
	return route.Accepted
}
func (arrivals) GuestName() string            { return "echo" }
func (arrivals) MethodTimeout() time.Duration { return time.Second }

// TestACallFromAnotherMachineIsNotHeldForOrder: a call that came over TCP
// reaches its guest at once, even while a local connection has a frame
// not yet taken apart (which a local call waits for); and a local call
// does not wait for a TCP connection's frames.
func TestACallFromAnotherMachineIsNotHeldForOrder(t *testing.T) {
	s, local := newTestDirectServer(2)
	got := make(arrivals, 4)
	s.serve("echo", []string{"test.Echo"}, got)
	s.wait = patience // a call held for order would stay held for the whole test
	other := (*s.conns.Load())[1]
	remote := &serverConn{srv: s, remote: true}
	s.addConn(remote)
	arrived := func(what string) {
		t.Helper()
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s was held", what)
		}
	}

	other.idle.Store(false) // a local frame in its reader's hands
	remote.idle.Store(false)
	far, near := callFrame(t, []byte("from afar")), callFrame(t, []byte("local"))
	go remote.call("echo", "ticker", far, false)
	arrived("a call over TCP, while a local connection had a frame in hand,")

	other.idle.Store(true) // only the TCP connection has a frame in hand
	go local.call("echo", "ticker", near, false)
	arrived("a local call, while only a TCP connection had a frame in hand,")
}

func TestCheckDirectHost(t *testing.T) {
	for _, c := range []struct {
		host string
		want string // in the error; "" for none
	}{
		{"127.0.0.1", ""},
		{"localhost", ""},
		{"", "it is empty"},
		{"127.0.0.1:4000", "without a port"},
		{"localhost:4000", "without a port"},
		{"0.0.0.0", "unspecified address"},
		{"::", "unspecified address"},
		{"not a host", "neither an IP address nor a host name"},
		{"-bad.example", "neither an IP address nor a host name"},
		{"192.0.2.1", "cannot listen there"}, // TEST-NET-1: no machine's own
	} {
		t.Run(c.host, func(t *testing.T) {
			err := CheckDirectHost(c.host)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("got %v, want an error saying %q", err, c.want)
			}
		})
	}
}

// TestAChildWithADirectHostTakesCallsFromAnotherMachineOverTCP runs echo's
// wasm guest as its child does (RunChild), with a direct host: a caller
// on another machine reaches it over TCP.
func TestAChildWithADirectHostTakesCallsFromAnotherMachineOverTCP(t *testing.T) {
	guests := testGuests(t, 1)
	srv, ctx, out := startEchoChild(t, guests, "127.0.0.1")
	caller := onMachine(NewNetwork(connectAs(t, srv, "ticker"), "test", guests, "ticker"), "elsewhere")
	defer caller.Close()
	if err := caller.WaitReady(ctx, []string{"echo"}, patience, nil); err != nil {
		t.Fatal(err)
	}
	if nets := connNetworks(caller, "echo"); len(nets) != 1 || nets[0] != "tcp" {
		t.Fatalf("the caller on another machine has direct connections over %v, want one over tcp", nets)
	}
	got := make(replies, 1)
	caller.Service("test.Echo").Deliver(call(1, "over TCP"), got)
	if ev := got.next(t); ev.CallID != 1 || ev.Code != abi.CodeOK {
		t.Errorf("got %+v (%s), want echo's reply\necho:\n%s", ev, abi.ErrorMessage(ev.Payload), out.String())
	}
	if n := caller.client.sent.Load(); n != 1 {
		t.Errorf("%d calls went over the direct connection, want 1", n)
	}
}

// BenchmarkCallBetweenMachines is a 100 B call from a caller on one
// machine to a replica on another, both in this process (two Networks
// with different machine ids, one embedded NATS server): over a direct
// TCP connection (loopback), and through the NATS server as without
// --direct-host; and, for scale, over the Unix socket of one machine.
// It reports each call's p50 and p99 in microseconds.
func BenchmarkCallBetweenMachines(b *testing.B) {
	payload := strings.Repeat("x", 100)
	for _, way := range []struct{ name, host, callerMachine string }{
		{"tcp", "127.0.0.1", "machine-b"},
		{"nats", "", "machine-b"},
		{"unix", "", "machine-a"},
	} {
		b.Run(way.name, func(b *testing.B) {
			srv := startIdentityServer(b)
			serveFakeOn(b, srv, &fakeService{name: "echo"}, "machine-a", way.host)
			caller := callerOn(b, srv, "ticker", way.callerMachine)
			svc := caller.Service("test.Echo")
			got := make(replies, 1)
			took := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range uint64(b.N) {
				start := time.Now()
				svc.Deliver(call(i, payload), got)
				if ev := <-got; ev.Code != abi.CodeOK {
					b.Fatalf("call %d: %+v (%s)", i, ev, abi.ErrorMessage(ev.Payload))
				}
				took = append(took, time.Since(start))
			}
			b.StopTimer()
			if sent := caller.client.sent.Load(); (way.name == "nats") != (sent == 0) {
				b.Fatalf("%d calls went over a direct connection", sent)
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Nanoseconds())/1e3, "p50-us")
			b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds())/1e3, "p99-us")
		})
	}
}

// TestAcrossMachinesACallerFindsTheReplicasBeyondTheManifest: echo
// declares 2 replicas, and two machines host it (the same --only on
// each), 3 replicas in all. A caller on a third machine of an app across
// machines goes on looking past the 2 the manifest declares, connects to
// all 3, and its calls go to each in turn.
func TestAcrossMachinesACallerFindsTheReplicasBeyondTheManifest(t *testing.T) {
	srv := startIdentityServer(t)
	serveFakeOn(t, srv, &fakeService{name: "echo#1"}, "machine-a", "127.0.0.1")
	serveFakeOn(t, srv, &fakeService{name: "echo#2"}, "machine-a", "127.0.0.1")
	serveFakeOn(t, srv, &fakeService{name: "echo#3"}, "machine-b", "127.0.0.1")
	n := networkOn(t, srv, "ticker", "machine-c")
	n.AcrossMachines()
	caller := callerWhenReady(t, n)
	deadline := time.Now().Add(patience)
	for known(caller, "echo") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the caller knows %d replicas of echo, want all 3: those past the 2 the manifest declares take none of its calls", known(caller, "echo"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	got := make(replies, 1)
	served := map[string]int{}
	for i := range uint64(9) {
		caller.Service("test.Echo").Deliver(call(i, "x"), got)
		name, _, _ := strings.Cut(string(got.next(t).Payload), ":")
		served[name]++
	}
	if served["echo#1"] != 3 || served["echo#2"] != 3 || served["echo#3"] != 3 {
		t.Errorf("calls served %v, want 3 by each replica in turn", served)
	}
}
