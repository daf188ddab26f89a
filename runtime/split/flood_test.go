package split

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/internal/syncbuf"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
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

// heldReplies is a caller endpoint named ticker that keeps the replies it
// is given, and holds the first until released: the replies after it
// wait to be read.
type heldReplies struct {
	release chan struct{}
	mu      sync.Mutex
	got     []abi.Event
}

func (h *heldReplies) Deliver(ev abi.Event, _ route.Endpoint) route.Refusal {
	<-h.release
	h.mu.Lock()
	h.got = append(h.got, ev)
	h.mu.Unlock()
	return route.Accepted
}
func (h *heldReplies) GuestName() string            { return "ticker" }
func (h *heldReplies) MethodTimeout() time.Duration { return time.Second }

func (h *heldReplies) has(id uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range h.got {
		if ev.CallID == id {
			return true
		}
	}
	return false
}

// A peer that floods a caller's reply subjects (anyone with an app's
// shared NATS user may publish there) holds no more of the caller's
// process than the caller can be waiting for: its inbox's bytes and one
// message of the largest; the rest is dropped, the process says so, and
// the replies that come once it has caught up reach the caller.
func TestAFloodOfRepliesWaitsToBeReadWithinWhatTheCallerAwaits(t *testing.T) {
	ns := startConfiguredServer(t, "")
	guests := identityGuests()
	guests[2].InboxBytes = 4 << 20 // ticker's: replies may wait up to 4MiB + 8MiB
	caller := NewNetwork(connectOpen(t, ns, "ticker"), "test", guests, "ticker")
	var said syncbuf.Buffer
	caller.warn = &said
	held := &heldReplies{release: make(chan struct{})}
	prefix, err := caller.inbox(held, "echo")
	if err != nil {
		t.Fatal(err)
	}

	flooder := connectOpen(t, ns, "anyone")
	const flood, size = 40, 512 << 10 // 20MiB in all
	for i := range flood {
		m := nats.NewMsg(fmt.Sprintf("%s.echo.%d", prefix, i+1))
		m.Header.Set(headerCode, "0")
		m.Data = make([]byte, size)
		if err := flooder.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := flooder.Flush(); err != nil {
		t.Fatal(err)
	}
	sub := func() *nats.Subscription {
		caller.mu.Lock()
		defer caller.mu.Unlock()
		return caller.subs[0]
	}()
	var pendingBytes int
	waitFor(t, "the flood to reach the caller's process", func() bool {
		msgs, bytes, _ := sub.Pending()
		dropped, _ := sub.Dropped()
		pendingBytes = bytes
		return msgs+dropped == flood // the first, held by the caller, counted
	})
	if limit := 12 << 20; pendingBytes > limit {
		t.Errorf("%d bytes of replies waited to be read, want at most %d", pendingBytes, limit)
	}
	close(held.release)

	// A reply that comes once the caller caught up reaches it.
	m := nats.NewMsg(prefix + ".echo.1000")
	m.Header.Set(headerCode, "0")
	if err := flooder.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reply after the flood", func() bool { return held.has(1000) })
	want := "parigot: ticker: replies to ticker's calls of echo come from the NATS server faster than this process can take them: more than 65536 replies or 12MiB (what ticker can be waiting for) waited to be read, and "
	waitFor(t, "the dropped replies to be said", func() bool { return strings.Contains(said.String(), want) })
}
