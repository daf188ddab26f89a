package split

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"parigot.dev/parigot/internal/syncbuf"
)

// A NATS server of the user's that refuses a guest's key for a while (its
// configuration reloaded without the guest's user, then with it again) is
// said once, and connected to again once it takes the key: the guest is
// not left cut off for good.
func TestAGuestTheServerRefusesForAWhileConnectsAgain(t *testing.T) {
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := user.Seed()
	pub, _ := user.PublicKey()
	other, _ := nkeys.CreateUser()
	otherPub, _ := other.PublicKey()

	opts := &server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true, Nkeys: []*server.NkeyUser{{Nkey: pub}}}
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(patience) {
		t.Fatal("the NATS server did not start")
	}
	nc, err := Conn{URL: srv.ClientURL(), Seed: string(seed)}.Connect("test", "echo")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	var said syncbuf.Buffer
	n := NewNetwork(nc, "test", identityGuests(), "echo")
	n.warn = &said
	var refusals atomic.Int32 // of the reconnections tried
	handler := nc.ErrorHandler()
	nc.SetErrorHandler(func(c *nats.Conn, sub *nats.Subscription, err error) {
		if errors.Is(err, nats.ErrAuthorization) {
			refusals.Add(1)
		}
		handler(c, sub, err)
	})

	reload := func(users ...string) {
		t.Helper()
		o := opts.Clone()
		o.Nkeys = nil
		for _, u := range users {
			o.Nkeys = append(o.Nkeys, &server.NkeyUser{Nkey: u})
		}
		if err := srv.ReloadOptions(o); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(what string, done func() bool) {
		t.Helper()
		for deadline := time.Now().Add(patience); !done(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never happened; said:\n%s", what, said.String())
			}
		}
	}
	const refused = "parigot: echo: the NATS server refuses this process's credentials, and it is cut off from the app until the server takes them again (it goes on trying): configure the server with the users `parigot nats-config` prints"
	reload(otherPub) // the guest's user gone
	waitFor("the refusal said", func() bool { return strings.Contains(said.String(), refused) })
	// Refused more than twice: nats.go's default gives up after two.
	waitFor("three refusals", func() bool { return refusals.Load() >= 3 })
	reload(otherPub, pub) // and back
	waitFor("connecting again", func() bool {
		return nc.IsConnected() && strings.Contains(said.String(), "parigot: echo: the NATS server takes this process's credentials again")
	})
	if n := strings.Count(said.String(), refused); n != 1 {
		t.Errorf("the refusal was said %d times, want once:\n%s", n, said.String())
	}
}
