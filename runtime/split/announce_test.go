package split

import (
	"strings"
	"testing"
	"time"

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
