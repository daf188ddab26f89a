package state

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// envWriter makes the test binary the writer process of
// TestAcknowledgedWritesSurviveAKill: it writes into the store in the
// directory it names until it is killed.
const envWriter = "PARIGOT_STATE_TEST_WRITER"

// envSubscriber makes the test binary the subscriber process of
// TestAMessageWhoseSubscriberDiedIsDeliveredAgain.
const envSubscriber = "PARIGOT_STATE_TEST_SUBSCRIBER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(envWriter); dir != "" {
		writeUntilKilled(dir)
		return
	}
	if dir := os.Getenv(envSubscriber); dir != "" {
		subscribeUntilKilled(dir)
		return
	}
	os.Exit(m.Run())
}

// silent is a service that takes every call and never answers: it is
// killed mid-message.
type silent struct{ got chan string }

func (s *silent) Deliver(ev abi.Event, _ route.Endpoint) route.Refusal {
	s.got <- string(ev.Payload)
	return route.Accepted
}
func (s *silent) GuestName() string            { return "audit" }
func (s *silent) MethodTimeout() time.Duration { return 10 * time.Millisecond }

// subscribeUntilKilled publishes a message, subscribes a service that
// never answers, and says when the service has it.
func subscribeUntilKilled(dir string) {
	e, stop := openDir(dir)
	defer stop()
	w := newWaiter()
	e.Endpoint(abi.OpenTopic, "transfers").Deliver(abi.Event{Kind: abi.KindCall, CallID: 1, Method: abi.OpPublish, Payload: (&abi.StateRequest{Value: []byte("m1")}).Encode(nil)}, w)
	<-w.got
	svc := &silent{got: make(chan string, 10)}
	if _, err := e.Subscribe(context.Background(), "audit", Subscription{Topic: "transfers", Method: "a.B/C"}, svc); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("got", <-svc.got)
	select {} // until killed
}

// openDir opens the test store and topic in dir, for a helper process.
func openDir(dir string) (*Engine, func()) {
	srv, err := StartServer(ServerOptions{Dir: dir})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	nc, err := srv.Connect("helper")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	e, err := Open(context.Background(), nc, Options{App: "test", Stores: []StoreSpec{{Name: "accounts"}}, Topics: []TopicSpec{{Name: "transfers"}}, Create: true})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	return e, func() { e.Close(); nc.Close(); srv.Shutdown() }
}

func TestAMessageWhoseSubscriberDiedIsDeliveredAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process and kills it")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envSubscriber+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "got m1" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the subscriber said %q (%v), want got m1", sc.Text(), sc.Err())
	}
	cmd.Process.Kill() // mid-message: it never answered
	cmd.Wait()

	e, stop := openDir(dir)
	defer stop()
	svc := &service{seen: map[string]int{}, done: make(chan string, 10)}
	if _, err := e.Subscribe(t.Context(), "audit", Subscription{Topic: "transfers", Method: "a.B/C"}, svc); err != nil {
		t.Fatal(err)
	}
	// The server hands it out again once its ack wait has passed.
	select {
	case got := <-svc.done:
		if got != "m1" {
			t.Errorf("delivered %q, want m1", got)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the message the killed subscriber had was never delivered again")
	}
}

// writeUntilKilled puts key w<i> = i for i = 1, 2, ... through the engine,
// one after the other, and prints "acked i" once each write is
// acknowledged: what a guest's future would tell it.
func writeUntilKilled(dir string) {
	srv, err := StartServer(ServerOptions{Dir: dir})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	nc, err := srv.Connect("writer")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	e, err := Open(context.Background(), nc, Options{App: "test", Stores: []StoreSpec{{Name: "accounts"}}, Create: true})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	st := e.Endpoint(abi.OpenStore, "accounts")
	w := newWaiter()
	for i := uint64(1); ; i++ {
		v := strconv.FormatUint(i, 10)
		st.Deliver(abi.Event{Kind: abi.KindCall, CallID: i, Method: abi.OpPut, Payload: (&abi.StateRequest{Key: "w" + v, Value: []byte(v)}).Encode(nil)}, w)
		for {
			<-w.got
			w.mu.Lock()
			ev, ok := w.replies[i]
			delete(w.replies, i)
			w.mu.Unlock()
			if ok {
				if ev.Code != abi.CodeOK {
					fmt.Println("error", abi.ErrorMessage(ev.Payload))
					os.Exit(1)
				}
				break
			}
		}
		fmt.Println("acked", i)
	}
}

func TestAcknowledgedWritesSurviveAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process and kills it")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envWriter+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it with SIGKILL once it has acknowledged 300 writes, in the
	// middle of the next ones: nothing of it gets to flush or close.
	var acked uint64
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "acked "); ok {
			acked, _ = strconv.ParseUint(n, 10, 64)
			if acked == 300 {
				cmd.Process.Kill()
				break
			}
			continue
		}
		t.Fatalf("the writer said %q", line)
	}
	cmd.Wait()
	if acked < 300 {
		t.Fatalf("the writer ended after %d acknowledged writes: %v", acked, sc.Err())
	}

	srv, err := StartServer(ServerOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect("checker")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	e, err := Open(t.Context(), nc, Options{App: "test", Stores: []StoreSpec{{Name: "accounts"}}, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	st := e.Endpoint(abi.OpenStore, "accounts")
	w := newWaiter()
	for i := uint64(1); i <= acked; i++ {
		ev := w.do(t, st, i, abi.OpGet, abi.StateRequest{Key: "w" + strconv.FormatUint(i, 10)})
		if ev.Code != abi.CodeOK {
			t.Fatalf("acknowledged write %d of %d is gone after the kill: %v %s", i, acked, ev.Code, abi.ErrorMessage(ev.Payload))
		}
	}
}

// A store whose file JetStream finds damaged when it loads it (a bad disk,
// a file changed by hand) is said to have lost what lay past the damage:
// JetStream drops it, and says so only in a warning.
func TestAStoreDamagedOnDiskIsSaidToHaveLostRecords(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	var said []string
	open := func() (*Engine, func()) {
		t.Helper()
		srv, err := StartServer(ServerOptions{Dir: dir, Log: func(m string) { mu.Lock(); said = append(said, m); mu.Unlock() }})
		if err != nil {
			t.Fatal(err)
		}
		nc, err := srv.Connect("checker")
		if err != nil {
			t.Fatal(err)
		}
		e, err := Open(t.Context(), nc, Options{App: "test", Stores: []StoreSpec{{Name: "accounts"}}, Create: true})
		if err != nil {
			t.Fatal(err)
		}
		return e, func() { e.Close(); nc.Close(); srv.Shutdown() }
	}
	e, stop := open()
	st := e.Endpoint(abi.OpenStore, "accounts")
	w := newWaiter()
	for i := uint64(1); i <= 50; i++ {
		if ev := w.do(t, st, i, abi.OpPut, abi.StateRequest{Key: "k" + strconv.FormatUint(i, 10), Value: []byte(strings.Repeat("v", 100))}); ev.Code != abi.CodeOK {
			t.Fatalf("put %d: %v", i, ev.Code)
		}
	}
	stop()
	mu.Lock()
	if len(said) != 0 {
		t.Fatalf("a store in good order was said to be damaged: %q", said)
	}
	mu.Unlock()
	blocks, _ := filepath.Glob(filepath.Join(dir, "jetstream", "*", "streams", "KV_*accounts*", "msgs", "*.blk"))
	if len(blocks) == 0 {
		t.Fatal("no message block of the store to damage")
	}
	b, err := os.ReadFile(blocks[0])
	if err != nil {
		t.Fatal(err)
	}
	for i := len(b) / 3; i < 2*len(b)/3; i++ {
		b[i] ^= 0x5a
	}
	os.WriteFile(blocks[0], b, 0o644)
	_, stop = open()
	defer stop()
	mu.Lock()
	defer mu.Unlock()
	if len(said) != 1 || !strings.Contains(said[0], "JetStream: ") || !strings.Contains(said[0], "KV_parigot_test_STORE_accounts") ||
		!strings.Contains(said[0], "what the file held past the damage is lost; restore the data directory from a backup") {
		t.Errorf("the damage was said as %q, want one line naming the store's file", said)
	}
}
