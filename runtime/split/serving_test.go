package split

import (
	"context"
	"testing"

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
