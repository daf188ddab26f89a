package split

import (
	"context"
	"sync"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/internal/lines"
)

// TestServingFollowsTheReplicas is what a gateway's health service reports
// of a service in split mode: serving while a replica answers readiness
// checks, and not once the last one has stopped.
func TestServingFollowsTheReplicas(t *testing.T) {
	guests := testGuests(t, 1)
	srv, err := StartServer("test", guests, NativeCaller)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	echoCtx, stopEcho := context.WithCancel(t.Context())
	defer stopEcho()
	var echoOut lines.Buffer
	echoDone := make(chan struct{})
	go func() {
		defer close(echoDone)
		RunChild(echoCtx, ChildOptions{App: "test", Guests: guests, Name: "echo", Conn: srv.Conn("echo"), Stdout: &echoOut, Stderr: &echoOut, ReadyTimeout: patience})
	}()
	nc, err := srv.Conn(NativeCaller).Connect("test", NativeCaller)
	if err != nil {
		t.Fatal(err)
	}
	n := NewNetwork(nc, "test", guests, NativeCaller)
	defer n.Close()
	if err := n.WaitReady(t.Context(), []string{"echo"}, patience, nil); err != nil {
		t.Fatalf("%v\n%s", err, echoOut.String())
	}
	if !n.Serving(t.Context(), "test.Echo") {
		t.Error("a ready replica's service does not serve")
	}
	if n.Serving(t.Context(), "test.Nobody") {
		t.Error("a service no guest implements serves")
	}
	stopEcho()
	<-echoDone
	if n.Serving(t.Context(), "test.Echo") {
		t.Errorf("the service serves with its only replica stopped:\n%s", echoOut.String())
	}
}

// A service that runs on another machine (--only leaves it out here) is
// waited for without limit, since the app's machines may start in any
// order, and the wait says where it is; one that runs here and never
// becomes ready is a fault, reported once the limit has passed.
func TestAServiceElsewhereIsWaitedForWithoutLimit(t *testing.T) {
	guests := testGuests(t, 1)
	srv, err := StartServer("test", guests, NativeCaller)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Conn(NativeCaller).Connect("test", NativeCaller)
	if err != nil {
		t.Fatal(err)
	}
	n := NewNetwork(nc, "test", guests, NativeCaller)
	defer n.Close()

	limit := 100 * time.Millisecond
	// (Twice the limit: echo's own process, had it started, would have
	// said first why it was not ready.)
	if err := n.AwaitRequired(t.Context(), []string{"echo"}, nil, limit, nil); err == nil || err.Error() != "service echo did not become ready within 200ms" {
		t.Errorf("waiting for a service of this machine that does not start: %v", err)
	}

	var told sync.Map
	awaited := make(chan error, 1)
	go func() {
		awaited <- n.AwaitRequired(t.Context(), []string{"echo"}, []string{"echo"}, limit, func(name string, elsewhere bool) { told.Store(name, elsewhere) })
	}()
	// Past the limit and the second after which the wait is said, echo
	// starts on "another machine".
	time.Sleep(1500 * time.Millisecond)
	select {
	case err := <-awaited:
		t.Fatalf("the wait for a service elsewhere ended before it started: %v", err)
	default:
	}
	var echoOut lines.Buffer
	echoCtx, stopEcho := context.WithCancel(t.Context())
	echoDone := make(chan struct{})
	defer func() { stopEcho(); <-echoDone }()
	go func() {
		defer close(echoDone)
		RunChild(echoCtx, ChildOptions{App: "test", Guests: guests, Name: "echo", Conn: srv.Conn("echo"), Stdout: &echoOut, Stderr: &echoOut, ReadyTimeout: patience})
	}()
	select {
	case err := <-awaited:
		if err != nil {
			t.Errorf("the wait for a service elsewhere: %v\n%s", err, echoOut.String())
		}
	case <-time.After(patience):
		t.Fatalf("echo started, and the wait for it goes on\n%s", echoOut.String())
	}
	// It said it was waiting, and where echo runs: looked at once the
	// wait has ended, which a busy machine may have slowed past the
	// second after which it says so.
	if elsewhere, ok := told.Load("echo"); !ok || elsewhere != true {
		t.Errorf("the wait was told of echo: %v (elsewhere %v), want told, elsewhere", ok, elsewhere)
	}
}
