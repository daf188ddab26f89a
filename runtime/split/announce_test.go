package split

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/runtime/internal/lines"
)

// looking reports whether n looks for a replica of guest still (seek).
func looking(n *Network, guest string) bool {
	n.client.mu.Lock()
	defer n.client.mu.Unlock()
	return n.client.looking(guest)
}

// TestAcrossMachinesAnIdleCallerAsksNothingUntilAReplicaAnnouncesItself:
// a caller of an app across machines looks for replicas when it starts,
// then sends no request for offers while nothing changes; a replica that
// starts later on another machine says so, and the caller connects to it
// and spreads its calls over it too. (With no announcement it would find
// it only at its safety poll, which the test puts an hour away.)
func TestAcrossMachinesAnIdleCallerAsksNothingUntilAReplicaAnnouncesItself(t *testing.T) {
	srv := startIdentityServer(t)
	serveFakeOn(t, srv, &fakeService{name: "echo#1"}, "machine-a", "127.0.0.1")
	serveFakeOn(t, srv, &fakeService{name: "echo#2"}, "machine-a", "127.0.0.1")
	n := networkOn(t, srv, "ticker", "machine-c")
	n.AcrossMachines()
	n.client.seekSpan, n.client.safetySpan = time.Second, time.Hour
	caller := callerWhenReady(t, n)
	waitFor(t, "the caller to know both replicas", func() bool { return known(caller, "echo") == 2 })
	waitFor(t, "the caller to end its first search", func() bool { return !looking(caller, "echo") })

	// Idle, it asks for nothing: before announcements it asked three
	// times a second for as long as it ran. (An absence is watched over a
	// window: a few of the waits at which it would ask.)
	askedBefore, carriedBefore := askedFlushed(t, caller), callMsgs(t, srv)
	time.Sleep(3 * discoverEvery)
	if asked, carried := askedFlushed(t, caller), callMsgs(t, srv); asked != askedBefore || carried != carriedBefore {
		t.Errorf("an idle caller asked for %d offers (the server carried %d requests) in %s, want none",
			asked-askedBefore, carried-carriedBefore, 3*discoverEvery)
	}

	serveFakeOn(t, srv, &fakeService{name: "echo#3"}, "machine-b", "127.0.0.1")
	waitFor(t, "the caller to connect to the replica that announced itself", func() bool { return known(caller, "echo") == 3 })
	if served := servedBy(t, caller, 9); served["echo#1"] != 3 || served["echo#2"] != 3 || served["echo#3"] != 3 {
		t.Errorf("calls served %v, want 3 by each replica in turn", served)
	}
	waitFor(t, "the caller to stop looking once it found it", func() bool { return !looking(caller, "echo") })
}

// TestAcrossMachinesACallerOnAServerWithoutAnnouncementsAsksEverySecond:
// an operator's NATS server configured for an earlier parigot, whose
// users may not publish or subscribe to the announcement subjects, still
// lets a caller find the replicas that start on other machines: it asks
// every second, as before, and each process says once what its user
// lacks.
func TestAcrossMachinesACallerOnAServerWithoutAnnouncementsAsksEverySecond(t *testing.T) {
	guests := identityGuests()
	conf, seeds := printedConfig(t, guests)
	// As an earlier parigot printed it: echo publishes nothing (it
	// answers), and its callers hear no announcement.
	earlier := strings.ReplaceAll(conf, `"parigot.test.here.echo", `, "")
	earlier = strings.Replace(earlier, `publish: { allow: ["parigot.test.here.echo"] }`, `publish: { deny: [">"] }`, 1)
	if strings.Contains(earlier, ".here.echo") || earlier == conf {
		t.Fatalf("the printed configuration grants the announcements of echo otherwise:\n%s", conf)
	}
	ns := startConfiguredServer(t, earlier)
	connect := func(who, machine string) *Network {
		nc, err := Conn{URL: ns.ClientURL(), Seed: seeds[who]}.Connect("test", who)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return onMachine(NewNetwork(nc, "test", guests, who), machine)
	}
	replica := func(name, machine string) *lines.Buffer {
		n := connect("echo", machine)
		n.directHost = "127.0.0.1"
		said := new(lines.Buffer)
		n.warn = said
		serveOn(t, n, &fakeService{name: name})
		return said
	}
	replica("echo#1", "machine-a")
	replica("echo#2", "machine-a")
	n := connect("ticker", "machine-c")
	var said lines.Buffer
	n.warn = &said
	n.AcrossMachines()
	n.client.seekSpan, n.client.safetySpan = time.Second, time.Hour
	caller := callerWhenReady(t, n)
	waitFor(t, "the caller to say it may not hear announcements", func() bool { return said.String() != "" })
	wantCaller := `parigot: ticker: the NATS server refused to let it subscribe to "parigot.test.here.echo": it asks for the offers of the replicas on other machines every second instead; give its NATS user the permissions ` + "`parigot nats-config`" + ` prints for it` + "\n"
	if got := said.String(); got != wantCaller {
		t.Errorf("the caller says\n%s\nwant, once,\n%s", got, wantCaller)
	}
	waitFor(t, "the caller to end its first search", func() bool { return !looking(caller, "echo") })

	late := replica("echo#3", "machine-b")
	waitFor(t, "the caller to find the replica that started later", func() bool { return known(caller, "echo") == 3 })
	if served := servedBy(t, caller, 9); served["echo#1"] != 3 || served["echo#2"] != 3 || served["echo#3"] != 3 {
		t.Errorf("calls served %v, want 3 by each replica in turn", served)
	}
	waitFor(t, "the replica to say it may not announce itself", func() bool { return late.String() != "" })
	wantReplica := `parigot: echo: the NATS server refused to let it publish to "parigot.test.here.echo": its callers on other machines find this replica only when they ask for offers, which may take until they next do; give its NATS user the permissions ` + "`parigot nats-config`" + ` prints for it` + "\n"
	if got := late.String(); got != wantReplica {
		t.Errorf("the replica says\n%s\nwant, once,\n%s", got, wantReplica)
	}
	if got := said.String(); got != wantCaller {
		t.Errorf("the caller said more:\n%s", got)
	}
	if refusal := caller.Refused(); len(refusal) != 0 {
		t.Errorf("the caller was refused what calls need: %v", <-refusal)
	}
}

// A flood of announcements (from a replica gone wrong, or, with an app's
// shared NATS user, anyone) has a caller ask for offers no more often than
// one announcement does: each asked at once, three requests on the
// service's call subject per announcement and caller, and the flood
// filled the service's subscription with them.
func TestAFloodOfAnnouncementsAsksForOffersAtMostAtTheDiscoveryWaits(t *testing.T) {
	srv := startIdentityServer(t)
	serveFake(t, srv, &fakeService{name: "echo#1"})
	serveFake(t, srv, &fakeService{name: "echo#2"})
	caller := callerAs(t, srv, "ticker")
	waitFor(t, "the caller to know both replicas", func() bool { return known(caller, "echo") == 2 })
	var heard *nats.Subscription
	caller.mu.Lock()
	for _, s := range caller.subs {
		if s.Subject == caller.subj.announce("echo") {
			heard = s
		}
	}
	caller.mu.Unlock()
	if heard == nil {
		t.Fatal("the caller hears no announcement of echo")
	}
	before, _ := heard.Delivered()

	flooder := connectAs(t, srv, "echo") // the one user that may announce echo
	const flood = 1000
	start := time.Now()
	askedBefore := askedFlushed(t, caller)
	for i := range flood {
		if err := flooder.Publish(caller.subj.announce("echo"), fmt.Appendf(nil, "forged-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := flooder.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the caller to hear the flood", func() bool {
		n, _ := heard.Delivered()
		msgs, _, _ := heard.Pending()
		return n-before == flood && msgs == 0
	})
	asked := askedFlushed(t, caller) - askedBefore
	// At most once each discoverFirst at once, and as often at the
	// discovery waits, for one replica looked for.
	if most := 2 * int64(offerRequests(1)) * (int64(time.Since(start)/discoverFirst) + 1); asked > most {
		t.Errorf("a flood of %d announcements had the caller ask for %d offers in %s, want at most %d", flood, asked, time.Since(start), most)
	}
	caller.client.mu.Lock()
	sought := len(caller.client.seeking["echo"])
	caller.client.mu.Unlock()
	if sought > maxSought {
		t.Errorf("the caller looks for %d replicas by id, want at most %d", sought, maxSought)
	}
}
