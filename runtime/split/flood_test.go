package split

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/internal/syncbuf"
	"parigot.dev/parigot/runtime/internal/abi"
)

// A caller that floods a service with calls through the NATS server,
// faster than the service's process takes them, holds no more of that
// process than the service's inbox may: what passes the inbox's bounds
// while it waits to be read is dropped unanswered, the process says so,
// and the calls made once it has caught up are answered.
func TestAFloodOfCallsOverNATSWaitsToBeReadWithinTheInboxsBounds(t *testing.T) {
	srv := startIdentityServer(t)
	guests := identityGuests()
	const inbox = 16
	guests[0].InboxCalls = inbox // echo's
	n := NewNetwork(connectAs(t, srv, "echo"), "test", guests, "echo")
	var said syncbuf.Buffer
	n.warn = &said
	// The service takes its first call, and no other until the test
	// reads it: the calls after it wait to be read.
	f := &fakeService{name: "echo", got: make(chan abi.Event)}
	serveOn(t, n, f)

	flooder := connectAs(t, srv, "ticker")
	const flood = 20 * inbox
	for i := range flood {
		m := nats.NewMsg(n.subj.call("test.Echo"))
		m.Reply = fmt.Sprintf("%s.flood.echo.%d", n.subj.reply("ticker"), i)
		m.Header.Set(headerMethod, "test.Echo/Echo")
		m.Data = []byte("flood")
		if err := flooder.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := flooder.Flush(); err != nil {
		t.Fatal(err)
	}
	// Once the whole flood reached the service's process, it holds the
	// call its handler took, and its inbox's worth of those that came
	// after it; the others were dropped.
	waitFor(t, "the flood to reach the service's process", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		sub := n.serving[0]
		msgs, _, _ := sub.Pending()
		dropped, _ := sub.Dropped()
		return msgs+dropped == flood
	})
	var read atomic.Int32
	go func() {
		for ev := range f.got {
			if string(ev.Payload) == "flood" {
				read.Add(1)
			}
		}
	}()
	waitFor(t, "the calls that waited to be read", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, sub := range n.serving {
			if msgs, _, _ := sub.Pending(); msgs > 0 {
				return false
			}
		}
		return true
	})
	if got := read.Load(); got > inbox {
		t.Fatalf("the service read %d calls of the flood of %d, want at most %d: its inbox's worth", got, flood, inbox)
	}
	caller := callerWhenReady(t, NewNetwork(connectAs(t, srv, "tocker"), "test", identityGuests(), "tocker"))
	caller.natsOnly = true // through the subscription the flood came by
	done := make(replies, 1)
	caller.Service("test.Echo").Deliver(abi.Event{Kind: abi.KindCall, CallID: 1, Method: "test.Echo/Echo", Payload: []byte("real"), Deadline: time.Now().Add(patience).UnixNano()}, done)
	select {
	case ev := <-done:
		if ev.Code != abi.CodeOK {
			t.Fatalf("the call made after the flood failed: %v %s", ev.Code, abi.ErrorMessage(ev.Payload))
		}
	case <-time.After(patience):
		t.Fatal("the call made after the flood got no reply")
	}
	want := "calls to test.Echo come from the NATS server faster than this process can take them: more than 16 calls or 64MiB (its inbox's bounds, inbox_calls and inbox_bytes in parigot.hcl) waited to be read"
	waitFor(t, "the dropped calls to be said", func() bool { return strings.Contains(said.String(), want) })
	if c := strings.Count(said.String(), "faster than this process can take them"); c != 1 {
		t.Errorf("the dropped calls were said %d times, want once:\n%s", c, said.String())
	}
}
