package host

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"parigot.dev/parigot/runtime/internal/abi"
)

// A reply with a code beyond the list answers its caller with Internal at
// once, as such a reply from another process does in split mode, and tells
// the replying guest its argument was bad.
func TestAReplyWithACodeBeyondTheListIsInternal(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, memoryModule)
	if err != nil {
		t.Fatal(err)
	}
	a := &run{log: slog.New(slog.NewTextHandler(io.Discard, nil)), byService: map[string]*instance{}}
	caller := newInstance(a, &GuestSpec{Name: "bench", Kind: Program})
	svc := newInstance(a, &GuestSpec{Name: "echo", Kind: Service, Implements: []string{"test.Echo"}, MethodTimeout: time.Second})
	for _, code := range []uint64{uint64(abi.MaxCode) + 1, 99, 0xffff_ffff} {
		id := caller.dispatch(svc, "test.Echo/Echo", []byte("hi"), 0)
		call, ok, _ := svc.next(ctx, 0)
		if !ok {
			t.Fatal("the service got no call")
		}
		svc.pop()
		if st := hostReply(ctx, svc, mod.Memory(), []uint64{call.CallID, code, 0, 4}); st != abi.StatusBadArgument {
			t.Errorf("code %d: status %v, want bad argument", code, st)
		}
		ev, ok, _ := caller.next(ctx, 0)
		if !ok || ev.CallID != id || ev.Code != abi.CodeInternal {
			t.Fatalf("code %d: the caller got %+v (ok %v), want Internal for call %d", code, ev, ok, id)
		}
		if _, msg, _, err := abi.DecodeError(ev.Payload); err != nil || msg != "malformed reply from service echo" {
			t.Errorf("code %d: message %q (%v)", code, msg, err)
		}
		caller.pop()
	}
}
