package split

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"parigot.dev/parigot/internal/syncbuf"
)

// waitSaid waits until said holds want, or fails the test.
func waitSaid(t *testing.T, said *syncbuf.Buffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(patience); !strings.Contains(said.String(), want); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never said %q; said:\n%s", want, said.String())
		}
	}
}

// A process whose NATS server goes away (stopped, then started again on
// its address) says once that it lost the server, and once that it is
// back; closing it then says nothing more.
func TestAProcessSaysWhenItLosesTheNATSServerAndWhenItIsBack(t *testing.T) {
	ns := startConfiguredServer(t, "")
	url, port := ns.ClientURL(), ns.Addr().(*net.TCPAddr).Port
	nc, err := Conn{URL: url}.Connect("test", "echo")
	if err != nil {
		t.Fatal(err)
	}
	var said syncbuf.Buffer
	n := NewNetwork(nc, "test", identityGuests(), "echo")
	n.SayTo(&said)

	ns.Shutdown()
	lost := "parigot: echo: lost the NATS server at " + url + ": calls to and from other machines wait until it is back (reconnecting)\n"
	waitSaid(t, &said, lost)
	again, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go again.Start()
	t.Cleanup(again.Shutdown)
	if !again.ReadyForConnections(patience) {
		t.Fatal("the NATS server did not start again")
	}
	back := "parigot: echo: reconnected to the NATS server at " + url + " after "
	waitSaid(t, &said, back)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	got := said.String()
	if strings.Count(got, lost) != 1 || strings.Count(got, back) != 1 || strings.Count(got, "\n") != 2 {
		t.Errorf("said:\n%s\nwant the loss once, then the reconnection once, and nothing on closing", got)
	}
}

// A connection that drops again and again is said once per quiet time:
// the drops between are counted, and said with the next loss said; one
// that is still down once the quiet time has passed is said then.
func TestAFlappingNATSConnectionIsSaidOncePerQuietTime(t *testing.T) {
	var said syncbuf.Buffer
	clock := time.Unix(1000, 0)
	w := &serverWatch{
		say:   func(format string, args ...any) { fmt.Fprintf(&said, format+"\n", args...) },
		now:   func() time.Time { return clock },
		quiet: time.Hour,
		url:   "nats://a:4222",
	}
	w.lost()
	clock = clock.Add(4200 * time.Millisecond)
	w.back("nats://a:4222")
	for range 3 { // within the quiet time: not said
		w.lost()
		w.back("nats://a:4222")
	}
	want := "lost the NATS server at nats://a:4222: calls to and from other machines wait until it is back (reconnecting)\n" +
		"reconnected to the NATS server at nats://a:4222 after 4.2s\n"
	if got := said.String(); got != want {
		t.Fatalf("said:\n%s\nwant:\n%s", got, want)
	}

	// A fifth loss goes on until the quiet time has passed.
	w.mu.Lock()
	w.quiet = 4200*time.Millisecond + 20*time.Millisecond // 20ms after the loss said
	w.mu.Unlock()
	w.lost()
	waitSaid(t, &said, "lost the NATS server at nats://a:4222: calls to and from other machines wait until it is back (reconnecting) (it also dropped 3 time(s) briefly since it was last said)\n")
}
