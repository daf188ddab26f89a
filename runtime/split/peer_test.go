package split

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/internal/route"
)

// TestGarbageFromANetworkPeerIsRefusedAndEverythingGoesOn has a NATS client
// that may call the service but is no parigot guest send what it likes to
// the service's subject, while a real program calls the service. The junk
// gets clear errors or is dropped; the program's calls all succeed. (Junk on
// reply subjects never gets that far: the server refuses it, see
// TestOnlyTheConnectionThatTookACallCanAnswerIt.)
func TestGarbageFromANetworkPeerIsRefusedAndEverythingGoesOn(t *testing.T) {
	guests := testGuests(t, 1)
	srv, err := StartServer("test", guests, NativeCaller)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	ctx := t.Context()
	echoCtx, stopEcho := context.WithCancel(ctx)
	defer stopEcho()
	var echoOut lines.Buffer
	go RunChild(echoCtx, ChildOptions{App: "test", Guests: guests, Name: "echo", Conn: srv.Conn("echo"), Stdout: &echoOut, Stderr: &echoOut, ReadyTimeout: patience})

	peer, err := srv.Conn(NativeCaller).Connect("test", NativeCaller)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	subject := "parigot.test.call.test.Echo"
	asked := 0
	ask := func(method string, data []byte, wait time.Duration) (*nats.Msg, error) {
		m := nats.NewMsg(subject)
		if method != "\x00" {
			m.Header.Set(headerMethod, method)
		}
		m.Data = data
		// Answered where a caller of the app is answered, as a service
		// answers only its app's callers.
		asked++
		m.Reply = fmt.Sprintf("%s.peer.%d", subjects{"test"}.reply(NativeCaller), asked)
		sub, err := peer.SubscribeSync(m.Reply)
		if err != nil {
			return nil, err
		}
		defer sub.Unsubscribe()
		if err := peer.PublishMsg(m); err != nil {
			return nil, err
		}
		return sub.NextMsg(wait)
	}
	// Wait for the service.
	deadline := time.Now().Add(patience)
	for {
		if _, err := ask("test.Echo/Echo", nil, 250*time.Millisecond); err == nil { // no answer yet: not up
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the echo service did not come up:\n%s", echoOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range []struct {
		name, method string
		data         []byte
		code, text   string
	}{
		{"no method header", "\x00", nil, "3", "must name one of its methods"},
		{"a method of another service", "other.Svc/Echo", nil, "3", "must name one of its methods"},
		{"a service name and no method", "test.Echo/", nil, "3", "must name one of its methods"},
		{"a 2 KiB method name", "test.Echo/" + strings.Repeat("x", 2048), nil, "3", "must name one of its methods"},
		{"a method the service lacks", "test.Echo/Nope", nil, "12", "has no method Nope"},
		{"a 5 MiB request", "test.Echo/Echo", make([]byte, 5<<20), "8", "larger than the 4194304-byte limit"},
	} {
		reply, err := ask(c.method, c.data, patience)
		if err != nil {
			t.Errorf("%s: no answer: %v", c.name, err)
			continue
		}
		if got := reply.Header.Get(headerCode); got != c.code || !strings.Contains(abi.ErrorMessage(reply.Data), c.text) {
			t.Errorf("%s: code %s %q, want code %s and %q", c.name, got, reply.Data, c.code, c.text)
		}
	}
	// Junk without a reply subject.
	peer.Publish(subject, []byte("no reply subject"))
	peer.Flush()

	// A real program still gets every call through.
	var tickOut lines.Buffer
	res, err := RunChild(ctx, ChildOptions{App: "test", Guests: guests, Name: "ticker", Conn: srv.Conn("ticker"), Stdout: &tickOut, Stderr: &tickOut})
	if err != nil || res.ExitCode != 0 || !strings.Contains(tickOut.String(), "done: ok=40 failed=0") {
		t.Errorf("the program after the junk: err %v, exit %d:\n%s", err, res.ExitCode, tickOut.String())
	}
}

// recorder is a caller endpoint that keeps what it is given.
type recorder struct{ got []abi.Event }

func (r *recorder) Deliver(ev abi.Event, _ route.Endpoint) route.Refusal {
	r.got = append(r.got, ev)
	return route.Accepted
}
func (r *recorder) GuestName() string            { return "caller" }
func (r *recorder) MethodTimeout() time.Duration { return time.Second }

func TestRepliesAreReadCarefully(t *testing.T) {
	const prefix = "parigot.test.reply.caller.abc"
	msg := func(subject, code string, status string, data string) *nats.Msg {
		m := nats.NewMsg(subject)
		if code != "" {
			m.Header.Set(headerCode, code)
		}
		if status != "" {
			m.Header.Set(headerStatus, status)
		}
		m.Data = []byte(data)
		return m
	}
	for _, c := range []struct {
		name string
		m    *nats.Msg
		want *abi.Event // nil: dropped
	}{
		{"a reply", msg(prefix+".echo.7", "0", "", "hi"), &abi.Event{Kind: abi.KindReply, Code: abi.CodeOK, CallID: 7, Payload: []byte("hi")}},
		{"no responders", msg(prefix+".echo.8", "", "503", ""), &abi.Event{Kind: abi.KindReply, Code: abi.CodeUnavailable, CallID: 8, Payload: abi.EncodeError(abi.CodeUnavailable, "service echo is not running")}},
		{"a code that is not a number", msg(prefix+".echo.9", "zero", "", "x"), &abi.Event{Kind: abi.KindReply, Code: abi.CodeInternal, CallID: 9, Payload: abi.EncodeError(abi.CodeInternal, "malformed reply from service echo")}},
		{"a code that no reply has", msg(prefix+".echo.10", "99", "", "x"), &abi.Event{Kind: abi.KindReply, Code: abi.CodeInternal, CallID: 10, Payload: abi.EncodeError(abi.CodeInternal, "malformed reply from service echo")}},
		{"no call id", msg(prefix+".echo", "0", "", "x"), nil},
		{"a call id that is not a number", msg(prefix+".echo.seven", "0", "", "x"), nil},
	} {
		var r recorder
		deliverReply(&r, prefix, c.m, nil)
		switch {
		case c.want == nil && len(r.got) != 0:
			t.Errorf("%s: delivered %+v, want it dropped", c.name, r.got)
		case c.want != nil && (len(r.got) != 1 || r.got[0].Code != c.want.Code || r.got[0].CallID != c.want.CallID || string(r.got[0].Payload) != string(c.want.Payload)):
			t.Errorf("%s: delivered %+v, want %+v", c.name, r.got, *c.want)
		}
	}
}
