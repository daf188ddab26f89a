package split

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// identityGuests is an app of two services and two programs, without wasm:
// echo serves test.Echo (two replicas); faulty serves test.Faulty and calls
// echo; ticker and tocker call echo.
func identityGuests() []*host.GuestSpec {
	return []*host.GuestSpec{
		{Name: "echo", Kind: host.Service, Implements: []string{"test.Echo"}, MethodTimeout: time.Second, Replicas: 2},
		{Name: "faulty", Kind: host.Service, Implements: []string{"test.Faulty"}, Requires: []string{"echo"}, MethodTimeout: time.Second, Replicas: 1},
		{Name: "ticker", Kind: host.Program, Requires: []string{"echo"}, Replicas: 1},
		{Name: "tocker", Kind: host.Program, Requires: []string{"echo"}, Replicas: 1},
	}
}

// startIdentityServer starts the embedded server of identityGuests and a
// gateway "public" serving faulty, with a user for NativeCaller too.
func startIdentityServer(t testing.TB) *Server {
	t.Helper()
	srv, err := StartServer("test", WithGateways(identityGuests(), []Gateway{{Name: "public", Guests: []string{"faulty"}}}), NativeCaller)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// connectAs connects to srv as guest who, as a child hosting it would.
func connectAs(t testing.TB, srv *Server, who string) *nats.Conn {
	t.Helper()
	nc, err := srv.Conn(who).Connect("test", who)
	if err != nil {
		t.Fatalf("connecting as %s: %v", who, err)
	}
	nc.SetErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}) // the tests read LastError
	t.Cleanup(nc.Close)
	return nc
}

// refused reports whether the server refused what nc last did. The server
// answers a refused SUB or PUB with an error before the PONG of the flush
// that follows it, and the client records the error as it reads it: no
// waiting is needed.
func refused(t *testing.T, nc *nats.Conn) bool {
	t.Helper()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return errors.Is(nc.LastError(), nats.ErrPermissionViolation)
}

// TestAGuestsNATSUserMayDoOnlyWhatItsGuestNeeds tries, with each guest's
// own key against the embedded server, what the guest needs and what it
// must not do.
func TestAGuestsNATSUserMayDoOnlyWhatItsGuestNeeds(t *testing.T) {
	srv := startIdentityServer(t)
	const sub, pub = "subscribe", "publish"
	for _, c := range []struct {
		name    string
		who     string
		action  string
		subject string
		queue   string
		allowed bool
	}{
		{"a service takes its calls in its own queue group", "echo", sub, "parigot.test.call.test.Echo", "echo", true},
		{"a service answers readiness requests", "echo", sub, "parigot.test.ready.echo", "", true},
		{"a service cannot read its calls outside its queue group", "echo", sub, "parigot.test.call.test.Echo", "", false},
		{"a service cannot take its calls in another queue group", "echo", sub, "parigot.test.call.test.Echo", "thief", false},
		{"a service cannot read another service's calls", "echo", sub, "parigot.test.call.test.Faulty", "", false},
		{"a service cannot join another service's queue group", "echo", sub, "parigot.test.call.test.Faulty", "faulty", false},
		{"a service cannot answer another service's readiness requests", "echo", sub, "parigot.test.ready.faulty", "", false},
		{"a service cannot read every subject of the app", "echo", sub, "parigot.>", "", false},
		{"a service cannot read every subject", "echo", sub, ">", "", false},
		{"a service cannot read the system account", "echo", sub, "$SYS.>", "", false},
		{"a service cannot read NATS's default inboxes", "echo", sub, "_INBOX.>", "", false},
		{"a service cannot publish on a reply subject it was not given", "echo", pub, "parigot.test.reply.ticker.x.echo.1", "", false},
		{"a service cannot call a service it does not require", "echo", pub, "parigot.test.call.test.Faulty", "", false},
		{"a service that requires another calls it", "faulty", pub, "parigot.test.call.test.Echo", "", true},
		{"a service that requires another asks whether it is ready", "faulty", pub, "parigot.test.ready.echo", "", true},
		{"a service that calls reads its own replies", "faulty", sub, "parigot.test.reply.faulty.>", "", true},
		{"a service cannot read another caller's replies", "faulty", sub, "parigot.test.reply.ticker.>", "", false},
		{"a program calls the service it requires", "ticker", pub, "parigot.test.call.test.Echo", "", true},
		{"a program asks whether the service it requires is ready", "ticker", pub, "parigot.test.ready.echo", "", true},
		{"a program reads its own replies", "ticker", sub, "parigot.test.reply.ticker.>", "", true},
		{"a program reads its own inbox", "ticker", sub, "parigot.test.inbox.ticker.>", "", true},
		{"a program cannot call a service it does not require", "ticker", pub, "parigot.test.call.test.Faulty", "", false},
		{"a program cannot ask about a service it does not require", "ticker", pub, "parigot.test.ready.faulty", "", false},
		{"a program cannot take a service's calls", "ticker", sub, "parigot.test.call.test.Echo", "echo", false},
		{"a program cannot read another program's replies", "ticker", sub, "parigot.test.reply.tocker.>", "", false},
		{"a program cannot read all replies", "ticker", sub, "parigot.test.reply.>", "", false},
		{"a program cannot read another program's inbox", "ticker", sub, "parigot.test.inbox.tocker.>", "", false},
		{"a program cannot publish on another program's reply subject", "ticker", pub, "parigot.test.reply.tocker.x.echo.1", "", false},
		{"a program cannot publish outside the app's subjects", "ticker", pub, "other.subject", "", false},
		{"the native caller calls every service", "_native", pub, "parigot.test.call.test.Faulty", "", true},
		{"a gateway calls the services it serves", "_gateway-public", pub, "parigot.test.call.test.Faulty", "", true},
		{"a gateway asks whether the services it serves are ready", "_gateway-public", pub, "parigot.test.ready.faulty", "", true},
		{"a gateway reads its own replies", "_gateway-public", sub, "parigot.test.reply._gateway-public.>", "", true},
		{"a gateway cannot call a service it does not serve", "_gateway-public", pub, "parigot.test.call.test.Echo", "", false},
		{"a gateway cannot take a service's calls", "_gateway-public", sub, "parigot.test.call.test.Faulty", "faulty", false},
		{"a gateway cannot read a guest's replies", "_gateway-public", sub, "parigot.test.reply.ticker.>", "", false},
		{"the native caller cannot take a service's calls", "_native", sub, "parigot.test.call.test.Echo", "echo", false},
		{"a service hears which of its calls their callers gave up", "echo", sub, "parigot.test.given.echo.*", "", true},
		{"a service cannot hear what another service's callers gave up", "echo", sub, "parigot.test.given.faulty.*", "", false},
		{"a program says which of its calls to the service it requires it gave up", "ticker", pub, "parigot.test.given.echo.ticker", "", true},
		{"a program cannot give up another caller's calls", "ticker", pub, "parigot.test.given.echo.tocker", "", false},
		{"a program cannot give up calls to a service it does not require", "ticker", pub, "parigot.test.given.faulty.ticker", "", false},
		{"a program cannot hear what a service's callers gave up", "ticker", sub, "parigot.test.given.echo.*", "", false},
		{"a service that requires another gives up its calls to it", "faulty", pub, "parigot.test.given.echo.faulty", "", true},
		{"a gateway gives up its calls to the services it serves", "_gateway-public", pub, "parigot.test.given.faulty._gateway-public", "", true},
		{"a gateway cannot give up calls to a service it does not serve", "_gateway-public", pub, "parigot.test.given.echo._gateway-public", "", false},
		{"the native caller gives up its calls to every service", "_native", pub, "parigot.test.given.faulty._native", "", true},
		{"a service says its replicas are ready", "echo", pub, "parigot.test.here.echo", "", true},
		{"a service cannot say another service's replicas are ready", "echo", pub, "parigot.test.here.faulty", "", false},
		{"a program hears the replicas of the service it requires say they are ready", "ticker", sub, "parigot.test.here.echo", "", true},
		{"a program cannot hear the replicas of a service it does not require", "ticker", sub, "parigot.test.here.faulty", "", false},
		{"a program cannot say a service's replicas are ready", "ticker", pub, "parigot.test.here.echo", "", false},
		{"a gateway hears the replicas of the services it serves", "_gateway-public", sub, "parigot.test.here.faulty", "", true},
		{"the native caller hears the replicas of every service", "_native", sub, "parigot.test.here.faulty", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			nc := connectAs(t, srv, c.who)
			var err error
			switch c.action {
			case sub:
				_, err = nc.QueueSubscribeSync(c.subject, c.queue)
			case pub:
				err = nc.Publish(c.subject, []byte("x"))
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := !refused(t, nc); got != c.allowed {
				t.Errorf("%s may %s %q (queue %q): %v, want %v; server said: %v", c.who, c.action, c.subject, c.queue, got, c.allowed, nc.LastError())
			}
		})
	}
}

func TestTheEmbeddedServerRefusesClientsWithoutAGuestsKey(t *testing.T) {
	srv := startIdentityServer(t)
	if !strings.HasPrefix(srv.URL(), "nats://127.0.0.1:") {
		t.Errorf("server listens on %s, want loopback", srv.URL())
	}
	stranger, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	strangerSeed, _ := stranger.Seed()
	for _, c := range []struct {
		name string
		conn Conn
	}{
		{"a client without credentials", Conn{URL: srv.URL()}},
		{"a client with a token", Conn{URL: srv.URL(), Token: "guess"}},
		{"a client with a user and password", Conn{URL: srv.URL(), User: "echo", Pass: "echo"}},
		{"a client with a key the server does not know", Conn{URL: srv.URL(), Seed: string(strangerSeed)}},
	} {
		t.Run(c.name+" cannot connect", func(t *testing.T) {
			nc, err := c.conn.Connect("test", "echo")
			if err == nil {
				nc.Close()
				t.Fatal("it connected")
			}
			if !errors.Is(err, nats.ErrAuthorization) {
				t.Errorf("err = %v, want an authorization error", err)
			}
			// A refusal does not pass by itself: a restart it fails is
			// counted (see supervisor.awaitNATS).
			if errors.As(err, new(*UnreachableError)) {
				t.Errorf("err = %v reads as a server that cannot be reached", err)
			}
		})
	}
	t.Run("a guest's own key connects", func(t *testing.T) {
		connectAs(t, srv, "echo")
	})
}

// A NATS server that nothing answers for (no one listens at its address)
// cannot be reached, which may pass, unlike a refusal: the error says so
// by its type, and says what to check.
func TestAServerNothingAnswersForCannotBeReached(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "nats://" + ln.Addr().String()
	ln.Close()
	nc, err := Conn{URL: url}.Connect("test", "echo")
	if err == nil {
		nc.Close()
		t.Fatalf("connected to %s, where nothing listens", url)
	}
	var ue *UnreachableError
	want := "connecting to NATS at " + url + ": nats: no servers available for connection (check that the NATS server is up and reachable from here)"
	if !errors.As(err, &ue) || ue.URL != url || err.Error() != want {
		t.Errorf("err = %v (%T), want an *UnreachableError saying %q", err, err, want)
	}
}

// replies is a caller endpoint named ticker that hands on the replies it
// is given.
type replies chan abi.Event

func (r replies) Deliver(ev abi.Event, _ route.Endpoint) route.Refusal {
	r <- ev
	return route.Accepted
}
func (r replies) GuestName() string            { return "ticker" }
func (r replies) MethodTimeout() time.Duration { return time.Second }

// TestOnlyTheConnectionThatTookACallCanAnswerIt makes a real call from the
// ticker program's Network to the echo service, taken by one echo
// connection; while the call waits, everyone else tries to answer it in
// its place, knowing its reply subject. The server refuses every forged
// reply, and the caller gets the real one.
func TestOnlyTheConnectionThatTookACallCanAnswerIt(t *testing.T) {
	srv := startIdentityServer(t)
	guests := identityGuests()
	echo := connectAs(t, srv, "echo")
	calls, err := echo.QueueSubscribeSync("parigot.test.call.test.Echo", "echo")
	if err != nil || refused(t, echo) {
		t.Fatalf("echo cannot take its calls: %v %v", err, echo.LastError())
	}
	net := NewNetwork(connectAs(t, srv, "ticker"), "test", guests, "ticker")
	got := make(replies, 4)
	net.Service("test.Echo").Deliver(abi.Event{Kind: abi.KindCall, CallID: 7, Method: "test.Echo/Echo", Payload: []byte("hi")}, got)
	call, err := calls.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("the call did not reach echo: %v", err)
	}
	forge := func(nc *nats.Conn) *nats.Msg {
		m := nats.NewMsg(call.Reply)
		m.Header.Set(headerCode, "0")
		m.Data = []byte("forged")
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, who := range []string{"echo", "faulty", "tocker", "ticker", "_native"} {
		t.Run("a connection of "+who+" that did not take the call cannot answer it", func(t *testing.T) {
			nc := connectAs(t, srv, who)
			forge(nc)
			if !refused(t, nc) {
				t.Errorf("the server took a reply forged by %s", who)
			}
		})
	}
	real := nats.NewMsg(call.Reply)
	real.Header.Set(headerCode, "0")
	real.Data = []byte("real")
	if err := echo.PublishMsg(real); err != nil || refused(t, echo) {
		t.Fatalf("echo could not answer its own call: %v %v", err, echo.LastError())
	}
	t.Run("the connection that took the call cannot answer it twice", func(t *testing.T) {
		forge(echo)
		if !refused(t, echo) {
			t.Errorf("the server took a second reply to one call")
		}
	})
	// The forged replies were sent before the real one: had any been
	// delivered, the caller would have seen it first.
	select {
	case ev := <-got:
		if ev.CallID != 7 || ev.Code != abi.CodeOK || string(ev.Payload) != "real" {
			t.Errorf("the caller got %+v (%q), want the real reply to call 7", ev, ev.Payload)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the caller never got its reply")
	}
}

func TestACallerUsesAReplyPrefixPerCallee(t *testing.T) {
	srv := startIdentityServer(t)
	net := NewNetwork(connectAs(t, srv, "ticker"), "test", identityGuests(), "ticker")
	caller := replies(nil)
	toEcho, err1 := net.inbox(caller, "echo")
	toOther, err2 := net.inbox(caller, "other")
	again, err3 := net.inbox(caller, "echo")
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if toEcho == toOther {
		t.Errorf("calls to two services share the reply prefix %s: one callee could learn where the other's replies go", toEcho)
	}
	if again != toEcho {
		t.Errorf("calls to one service use two prefixes, %s and %s", toEcho, again)
	}
	for _, p := range []string{toEcho, toOther} {
		if !strings.HasPrefix(p, "parigot.test.reply.ticker.") {
			t.Errorf("prefix %s is not under the caller's own reply subjects", p)
		}
	}
}

func TestTheCallerOfAReplySubject(t *testing.T) {
	s := subjects{app: "shop"}
	for subject, want := range map[string]string{
		"parigot.shop.reply.hello.abc123.greeting.7": "hello",
		"parigot.shop.reply.hello":                   "hello",
		"parigot.other.reply.hello.abc.greeting.7":   "",
		"_INBOX.xyz": "",
	} {
		if got := s.caller(subject); got != want {
			t.Errorf("caller(%q) = %q, want %q", subject, got, want)
		}
	}
}
