package gateway

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

// A client that connects between two runs is not refused: its connection
// waits for the next run's gateway, at the same address, even one that
// asked for a free port. An address no run keeps refuses connections.
func TestHeldSocketsOutliveARun(t *testing.T) {
	held := NewHeld()
	defer held.Close()
	first, err := held.listen("public", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := first.Addr().String()
	served := make(chan string, 1)
	go func() {
		c, err := first.Accept()
		if err != nil {
			served <- err.Error()
			return
		}
		defer c.Close()
		b := make([]byte, 5)
		io.ReadFull(c, b)
		served <- string(b)
	}()
	sendRaw(t, addr, "first")
	if got := <-served; got != "first" {
		t.Fatalf("the first run accepted %q", got)
	}

	// The first run stops.
	first.Close()
	if _, err := first.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	// A client connects meanwhile, and sends its request.
	between, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("connecting between two runs: %v, want the connection to wait", err)
	}
	defer between.Close()
	if _, err := between.Write([]byte("again")); err != nil {
		t.Fatal(err)
	}

	// The next run listens at the same address (127.0.0.1:0 again) and
	// serves it.
	held.Keep([]string{"127.0.0.1:0"})
	second, err := held.listen("public", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if got := second.Addr().String(); got != addr {
		t.Errorf("the next run listens at %s, want %s, the address the first had", got, addr)
	}
	c, err := second.Accept()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "again" {
		t.Errorf("the connection made between the runs read %q, %v", b, err)
	}
	c.Close()

	// A run that no longer listens there: the socket closes, and a client
	// is refused at once.
	held.Keep(nil)
	if _, err := second.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept once the socket is no longer kept: %v, want net.ErrClosed", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("connecting to an address no run keeps: connected, want refused")
	} else if !strings.Contains(err.Error(), "refused") {
		t.Errorf("connecting to an address no run keeps: %v, want refused", err)
	}
}

// An address another program holds is said as a gateway's own listen says
// it.
func TestHeldSocketInUseIsSaid(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	held := NewHeld()
	defer held.Close()
	_, err = held.listen("public", busy.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "is in use by another program") {
		t.Errorf("listening at a busy address: %v", err)
	}
}

func sendRaw(t *testing.T, addr, text string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(text)); err != nil {
		t.Fatal(err)
	}
}
