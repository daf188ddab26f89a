package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// waiter is an endpoint that collects the replies it is sent.
type waiter struct {
	mu      sync.Mutex
	replies map[uint64]abi.Event
	got     chan struct{}
}

func newWaiter() *waiter {
	return &waiter{replies: map[uint64]abi.Event{}, got: make(chan struct{}, 100)}
}

func (w *waiter) Deliver(ev abi.Event, _ route.Endpoint) route.Refusal {
	w.mu.Lock()
	w.replies[ev.CallID] = ev
	w.mu.Unlock()
	w.got <- struct{}{}
	return route.Accepted
}
func (w *waiter) GuestName() string            { return "test" }
func (w *waiter) MethodTimeout() time.Duration { return time.Second }

// do sends one operation and waits for its reply.
func (w *waiter) do(t *testing.T, ep route.Endpoint, id uint64, method string, req abi.StateRequest) abi.Event {
	t.Helper()
	return w.doWithin(t, ep, id, method, req, time.Minute)
}

// doWithin is do with the operation's deadline d from now; it waits for
// the reply (an error once the deadline has passed) twice as long.
func (w *waiter) doWithin(t *testing.T, ep route.Endpoint, id uint64, method string, req abi.StateRequest, d time.Duration) abi.Event {
	t.Helper()
	ep.Deliver(abi.Event{Kind: abi.KindCall, CallID: id, Method: method, Payload: req.Encode(nil), Deadline: time.Now().Add(d).UnixNano()}, w)
	return w.waitWithin(t, id, method, 2*d)
}

// wait waits for the reply to the call id, sent otherwise than by do.
func (w *waiter) wait(t *testing.T, id uint64) abi.Event {
	t.Helper()
	return w.waitWithin(t, id, "call "+strconv.FormatUint(id, 10), 2*time.Minute)
}

// waitWithin waits up to d for the reply to the call id, and takes it: a
// later call may use id again, and waits for a reply of its own.
func (w *waiter) waitWithin(t *testing.T, id uint64, what string, d time.Duration) abi.Event {
	t.Helper()
	timeout := time.After(d)
	for {
		w.mu.Lock()
		ev, ok := w.replies[id]
		delete(w.replies, id)
		w.mu.Unlock()
		if ok {
			return ev
		}
		select {
		case <-w.got:
		case <-timeout:
			t.Fatalf("no reply to %s", what)
		}
	}
}

// memoryConn is a connection to a JetStream server of the test's own that
// keeps everything in memory; both end with the test.
func memoryConn(t *testing.T) *nats.Conn {
	t.Helper()
	srv, err := StartServer(ServerOptions{Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := srv.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func openTest(t *testing.T, dir string, ephemeral bool) *Engine {
	t.Helper()
	srv, err := StartServer(ServerOptions{Dir: dir, Ephemeral: ephemeral})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := srv.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	e, err := Open(t.Context(), nc, Options{App: "test", Stores: []StoreSpec{{Name: "accounts"}}, Topics: []TopicSpec{{Name: "transfers"}}, Memory: ephemeral, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(); nc.Close(); srv.Shutdown() })
	return e
}

func TestAStoreGetsPutsUpdatesAndListsKeys(t *testing.T) {
	e := openTest(t, "", true)
	st := e.Endpoint(abi.OpenStore, "accounts")
	if st == nil || e.Endpoint(abi.OpenStore, "other") != nil || e.Endpoint(abi.OpenTopic, "accounts") != nil {
		t.Fatal("endpoints are not the declared ones")
	}
	w := newWaiter()
	if ev := w.do(t, st, 1, abi.OpGet, abi.StateRequest{Key: "alice"}); ev.Code != abi.CodeNotFound {
		t.Errorf("Get of a missing key: %v", ev.Code)
	}
	ev := w.do(t, st, 2, abi.OpPut, abi.StateRequest{Key: "alice", Value: []byte("100")})
	rev, err := abi.DecodeRevision(ev.Payload)
	if ev.Code != abi.CodeOK || err != nil || rev == 0 {
		t.Fatalf("Put: %v %v", ev.Code, abi.ErrorMessage(ev.Payload))
	}
	ev = w.do(t, st, 3, abi.OpGet, abi.StateRequest{Key: "alice"})
	ent, err := abi.DecodeStateEntry(ev.Payload)
	if ev.Code != abi.CodeOK || err != nil || string(ent.Value) != "100" || ent.Revision != rev {
		t.Errorf("Get: %v %+v %v", ev.Code, ent, err)
	}
	if ev := w.do(t, st, 4, abi.OpUpdate, abi.StateRequest{Key: "alice", Value: []byte("90"), Revision: rev + 10}); ev.Code != abi.CodeAborted {
		t.Errorf("Update at a stale revision: %v", ev.Code)
	}
	if ev := w.do(t, st, 5, abi.OpUpdate, abi.StateRequest{Key: "alice", Value: []byte("90"), Revision: rev}); ev.Code != abi.CodeOK {
		t.Errorf("Update at the latest revision: %v %s", ev.Code, abi.ErrorMessage(ev.Payload))
	}
	if ev := w.do(t, st, 6, abi.OpCreate, abi.StateRequest{Key: "alice", Value: []byte("1")}); ev.Code != abi.CodeAlreadyExists {
		t.Errorf("Create of a key that exists: %v", ev.Code)
	}
	if ev := w.do(t, st, 7, abi.OpCreate, abi.StateRequest{Key: "bob", Value: []byte("1"), TTL: int64(time.Hour)}); ev.Code != abi.CodeOK {
		t.Errorf("Create with a TTL: %v %s", ev.Code, abi.ErrorMessage(ev.Payload))
	}
	if ev := w.do(t, st, 8, abi.OpPut, abi.StateRequest{Key: "a b", Value: []byte("1")}); ev.Code != abi.CodeInvalidArgument {
		t.Errorf("Put of a bad key: %v", ev.Code)
	}
	if ev := w.do(t, st, 9, abi.OpPut, abi.StateRequest{Key: "big", Value: make([]byte, abi.MaxValue+1)}); ev.Code != abi.CodeResourceExhausted {
		t.Errorf("Put of a value over the limit: %v", ev.Code)
	}
	ev = w.do(t, st, 10, abi.OpKeys, abi.StateRequest{})
	keys, _ := abi.DecodeKeys(ev.Payload)
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"alice", "bob"}) {
		t.Errorf("Keys: %q (%v)", keys, ev.Code)
	}
	for i, filter := range []string{"a b", "a..", ">.a"} {
		ev := w.do(t, st, uint64(20+i), abi.OpKeys, abi.StateRequest{Key: filter})
		if msg := abi.ErrorMessage(ev.Payload); ev.Code != abi.CodeInvalidArgument || !strings.Contains(msg, "is not a valid key filter") {
			t.Errorf("Keys(%q): %v %s, want invalid argument", filter, ev.Code, msg)
		}
	}
	if ev := w.do(t, st, 30, abi.OpKeys, abi.StateRequest{Key: "a*"}); ev.Code != abi.CodeInvalidArgument {
		t.Errorf("Keys of a filter with a wildcard inside an element: %v", ev.Code)
	}
	ev = w.do(t, st, 31, abi.OpPut, abi.StateRequest{Key: strings.Repeat("\xff", 100000), Value: []byte("1")})
	if msg := abi.ErrorMessage(ev.Payload); ev.Code != abi.CodeInvalidArgument || len(msg) > 1000 {
		t.Errorf("Put of a long bad key: %v, a message of %d bytes", ev.Code, len(msg))
	}
	w.do(t, st, 11, abi.OpDelete, abi.StateRequest{Key: "bob"})
	if ev := w.do(t, st, 12, abi.OpGet, abi.StateRequest{Key: "bob"}); ev.Code != abi.CodeNotFound {
		t.Errorf("Get of a deleted key: %v", ev.Code)
	}
	// Revision 0 is "holds nothing": a key never written, or deleted.
	for i, key := range []string{"carol", "bob"} {
		if ev := w.do(t, st, uint64(40+i), abi.OpUpdate, abi.StateRequest{Key: key, Value: []byte("5"), Revision: 0}); ev.Code != abi.CodeOK {
			t.Errorf("Update of %s at revision 0: %v %s", key, ev.Code, abi.ErrorMessage(ev.Payload))
		}
		ev := w.do(t, st, uint64(50+i), abi.OpGet, abi.StateRequest{Key: key})
		if ent, _ := abi.DecodeStateEntry(ev.Payload); ev.Code != abi.CodeOK || string(ent.Value) != "5" {
			t.Errorf("Get of %s after its Update at revision 0: %v %q", key, ev.Code, ent.Value)
		}
	}
	ev = w.do(t, st, 60, abi.OpUpdate, abi.StateRequest{Key: "alice", Value: []byte("1"), Revision: 0})
	if msg := abi.ErrorMessage(ev.Payload); ev.Code != abi.CodeAborted || !strings.Contains(msg, `key "alice" is no longer at revision 0`) {
		t.Errorf("Update at revision 0 of a key that holds a value: %v %s, want aborted", ev.Code, msg)
	}
}

func TestStoredValuesOutliveTheServer(t *testing.T) {
	dir := t.TempDir()
	for run, want := range []abi.Code{abi.CodeNotFound, abi.CodeOK} {
		srv, err := StartServer(ServerOptions{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		nc, err := srv.Connect("test")
		if err != nil {
			t.Fatal(err)
		}
		e, err := Open(t.Context(), nc, Options{App: "test", Stores: []StoreSpec{{Name: "accounts"}}, Create: true})
		if err != nil {
			t.Fatal(err)
		}
		w := newWaiter()
		st := e.Endpoint(abi.OpenStore, "accounts")
		if ev := w.do(t, st, 1, abi.OpGet, abi.StateRequest{Key: "run"}); ev.Code != want {
			t.Errorf("run %d: Get: %v, want %v", run+1, ev.Code, want)
		}
		if ev := w.do(t, st, 2, abi.OpPut, abi.StateRequest{Key: "run", Value: []byte("1")}); ev.Code != abi.CodeOK {
			t.Fatal(abi.ErrorMessage(ev.Payload))
		}
		e.Close()
		nc.Close()
		srv.Shutdown()
	}
}

// service answers the calls a subscription makes: failing the first
// failures of each message, then succeeding.
type service struct {
	mu        sync.Mutex
	refusals  int // the first deliveries of each message are refused: the service is down, starting again or full
	failures  int
	unreached int // the first deliveries of each message fail as never taken (its service ended while it waited)
	// bystanders: the deliveries after those fail as taken, but not what the
	// service was running when it ended (it waited on a store write)
	bystanders int
	seen       map[string]int
	done       chan string
}

func (s *service) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	s.mu.Lock()
	s.seen[string(ev.Payload)]++
	n := s.seen[string(ev.Payload)]
	s.mu.Unlock()
	if n <= s.refusals {
		return route.Ended
	}
	go func() {
		if n <= s.unreached {
			from.Deliver(abi.ErrorEvent(ev.CallID, abi.CodeUnavailable, "service audit panicked"+route.NotTaken), nil)
			return
		}
		if n <= s.unreached+s.bystanders {
			ev := abi.ErrorEvent(ev.CallID, abi.CodeUnavailable, "service audit panicked")
			ev.Bystander = true
			from.Deliver(ev, nil)
			return
		}
		if n <= s.failures {
			from.Deliver(abi.ErrorEvent(ev.CallID, abi.CodeInternal, "not yet"), nil)
			return
		}
		from.Deliver(abi.Event{Kind: abi.KindReply, CallID: ev.CallID}, nil)
		s.done <- string(ev.Payload)
	}()
	return route.Accepted
}
func (s *service) GuestName() string            { return "audit" }
func (s *service) MethodTimeout() time.Duration { return time.Second }

func TestASubscriptionRedeliversAFailedMessageThenDeadLettersIt(t *testing.T) {
	e := openTest(t, "", true)
	svc := &service{failures: 2, seen: map[string]int{}, done: make(chan string, 10)}
	if _, err := e.Subscribe(t.Context(), "audit", Subscription{Topic: "transfers", Method: "a.B/C", MaxAttempts: 5}, svc); err != nil {
		t.Fatal(err)
	}
	w := newWaiter()
	topic := e.Endpoint(abi.OpenTopic, "transfers")
	if ev := w.do(t, topic, 1, abi.OpPublish, abi.StateRequest{Value: []byte("m1")}); ev.Code != abi.CodeOK {
		t.Fatal(abi.ErrorMessage(ev.Payload))
	}
	select {
	case got := <-svc.done:
		if got != "m1" || svc.seen["m1"] != 3 {
			t.Errorf("delivered %q after %d attempts, want m1 after 3", got, svc.seen["m1"])
		}
	case <-time.After(time.Minute):
		t.Fatal("the message was never delivered successfully")
	}

	// A message that always fails ends among the dead letters after its
	// attempts.
	svc.mu.Lock()
	svc.failures = 1000
	svc.mu.Unlock()
	w.do(t, topic, 2, abi.OpPublish, abi.StateRequest{Value: []byte("m2")})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	stream, err := e.JetStream().Stream(ctx, Stream("test", "transfers"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		m, err := stream.GetLastMsgForSubject(ctx, DeadSubject("test", "transfers"))
		if err == nil {
			if string(m.Data) != "m2" || m.Header.Get(HeaderDeadAttempts) != "5" {
				t.Errorf("dead letter %q after %s attempts", m.Data, m.Header.Get(HeaderDeadAttempts))
			}
			break
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("no dead letter: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	svc.mu.Lock()
	defer svc.mu.Unlock()
	if svc.seen["m2"] != 5 {
		t.Errorf("m2 delivered %d times, want 5", svc.seen["m2"])
	}
}

// A delivery that never reached the method is no attempt: a message failed
// that way more often than its attempts allow is delivered again, and not
// dead-lettered. It never reaches it when its service ends (another
// message's crash) while it waits in the inbox, or when the service
// refuses it (down, starting again, its inbox full). Nor is one that
// reached the method, which then waited (on a store write) while another
// message's crash ended the service: the host marks its reply a
// bystander's.
func TestADeliveryThatNeverReachedTheMethodIsNoAttempt(t *testing.T) {
	for _, c := range []struct {
		name string
		svc  *service
	}{
		{"its service ended while it waited", &service{unreached: 3}},
		{"another message's crash ended its service while it waited in the method", &service{bystanders: 3}},
		{"its service refused it", &service{refusals: 4}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := openTest(t, "", true)
			svc := c.svc
			svc.seen, svc.done = map[string]int{}, make(chan string, 10)
			if _, err := e.Subscribe(t.Context(), "audit", Subscription{Topic: "transfers", Method: "a.B/C", MaxAttempts: 2}, svc); err != nil {
				t.Fatal(err)
			}
			w := newWaiter()
			if ev := w.do(t, e.Endpoint(abi.OpenTopic, "transfers"), 1, abi.OpPublish, abi.StateRequest{Value: []byte("innocent")}); ev.Code != abi.CodeOK {
				t.Fatal(abi.ErrorMessage(ev.Payload))
			}
			want := svc.unreached + svc.bystanders + svc.refusals + 1
			select {
			case got := <-svc.done:
				svc.mu.Lock()
				defer svc.mu.Unlock()
				if got != "innocent" || svc.seen["innocent"] != want {
					t.Errorf("delivered %q after %d deliveries, want innocent after %d", got, svc.seen["innocent"], want)
				}
			case <-time.After(time.Minute):
				t.Fatal("the message was never delivered to a method that took it (dead-lettered?)")
			}
		})
	}
}

func TestAValueWithATTLExpires(t *testing.T) {
	e := openTest(t, "", true)
	st := e.Endpoint(abi.OpenStore, "accounts")
	w := newWaiter()
	if ev := w.do(t, st, 1, abi.OpPut, abi.StateRequest{Key: "short", Value: []byte("v"), TTL: int64(time.Second)}); ev.Code != abi.CodeOK {
		t.Fatalf("Put with a TTL: %v %s", ev.Code, abi.ErrorMessage(ev.Payload))
	}
	if ev := w.do(t, st, 2, abi.OpPut, abi.StateRequest{Key: "tiny", Value: []byte("v"), TTL: int64(time.Millisecond)}); ev.Code != abi.CodeInvalidArgument {
		t.Errorf("Put with a TTL under a second: %v", ev.Code)
	}
	// The server expires it a second after it was written; look until it
	// has, within a bound no busy machine reaches.
	for id := uint64(3); ; id++ {
		ev := w.do(t, st, id, abi.OpGet, abi.StateRequest{Key: "short"})
		if ev.Code == abi.CodeNotFound {
			return
		}
		if id > 600 {
			t.Fatalf("the value is still there a minute after its TTL of 1s: %v", ev.Code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A data directory serves one run at a time: a second run given it is
// refused with the first named, and may have it once the first is done.
func TestADataDirectoryServesOneRunAtATime(t *testing.T) {
	dir := t.TempDir()
	first, err := StartServer(ServerOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, err = StartServer(ServerOptions{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "is in use by another parigot run (process "+strconv.Itoa(os.Getpid())+")") || !strings.Contains(err.Error(), "--data") {
		t.Errorf("a second server on the directory: %v, want it refused, the first run named", err)
	}
	first.Shutdown()
	if _, err := os.Stat(filepath.Join(dir, pidFile)); !os.IsNotExist(err) {
		t.Errorf("the first run's %s is still there after it ended (%v)", pidFile, err)
	}
	again, err := StartServer(ServerOptions{Dir: dir})
	if err != nil {
		t.Fatalf("the directory after the first run: %v", err)
	}
	again.Shutdown()
}

// A data directory that cannot be written to is said at once, with what
// to do, not after the server's start times out.
func TestADataDirectoryThatCannotBeWrittenIsSaidAtOnce(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("uses /proc, where no one (root included) may create a file")
	}
	_, err := StartServer(ServerOptions{Dir: "/proc/self"})
	if err == nil || !strings.Contains(err.Error(), "the data directory /proc/self cannot be written to") || !strings.Contains(err.Error(), "--ephemeral") {
		t.Errorf("StartServer: %v, want the directory named and what to do", err)
	}
}

// JetStream's errors are said once each, as "JetStream: ...", and nothing
// else it logs; a server that runs as it should says nothing.
func TestJetStreamErrorsAreSaidOnceEach(t *testing.T) {
	var said []string
	l := ErrorLogger(func(s string) { said = append(said, s) })
	l.Noticef("Starting nats-server")
	l.Warnf("a warning")
	for range 3 {
		l.Errorf("JetStream failed to store a msg on stream '%s': %v", "KV_x", "write /d/1.blk: no space left on device")
	}
	l.Errorf("another")
	if want := []string{"JetStream: JetStream failed to store a msg on stream 'KV_x': write /d/1.blk: no space left on device", "JetStream: another"}; !slices.Equal(said, want) {
		t.Errorf("said %q, want %q", said, want)
	}

	said = nil
	srv, err := StartServer(ServerOptions{Dir: t.TempDir(), Log: func(s string) { said = append(said, s) }})
	if err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	if len(said) != 0 {
		t.Errorf("a server that ran as it should said %q", said)
	}
}
