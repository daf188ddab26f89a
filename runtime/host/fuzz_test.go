package host

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"parigot.dev/parigot/runtime/egress"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/internal/route"
)

// memoryModule is the smallest wasm module with one page of memory,
// exported: what a host function sees of a guest.
var memoryModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
	0x05, 0x03, 0x01, 0x00, 0x01, // memory section: one memory, min 1 page
	0x07, 0x0a, 0x01, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00, // export "memory"
}

// testMemory is the memory of a memoryModule instance, as a host function
// sees a guest's, for the test's length.
func testMemory(t testing.TB) api.Memory {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.Instantiate(ctx, memoryModule)
	if err != nil {
		t.Fatal(err)
	}
	return mod.Memory()
}

// hostFuncs are the host functions under fuzz, with their parameter counts.
var hostFuncs = []struct {
	name   string
	fn     hostFunc
	params int
}{
	{abi.FuncExport, hostExport, 2},
	{abi.FuncReady, hostReady, 0},
	{abi.FuncLocate, hostLocate, 3},
	{abi.FuncDispatch, hostDispatch, 7},
	{abi.FuncPoll, hostPoll, 4},
	{abi.FuncReply, hostReply, 4},
	{abi.FuncOpen, hostOpen, 4},
	{abi.FuncExiting, hostExiting, 0},
}

// FuzzHostFunctions hands every host function arbitrary arguments and
// guest memory, as a misbehaving guest could. None may panic, block, or
// answer with a status that is not in the ABI.
func FuzzHostFunctions(f *testing.F) {
	seed := func(fn byte, args ...uint64) []byte {
		b := []byte{fn}
		for _, a := range args {
			b = binary.LittleEndian.AppendUint64(b, a)
		}
		return b
	}
	f.Add(seed(0, 0, 9), []byte("test.Echo"))
	f.Add(seed(2, 0, 9, 64), []byte("test.Echo"))
	f.Add(seed(3, 1, 0, 4, 8, 100, 200), []byte("Echo"))
	f.Add(seed(3, 1, 0, 4, 8, 5<<20, 200), []byte("Echo"))
	f.Add(seed(4, 0, 0, 1<<16, 16), []byte{})
	f.Add(seed(5, 1, 0, 0xFFFF_FFF0, 100), []byte{})
	f.Add(seed(2, 0xFFFF_FFFF_0000_0000, 0xFFFF_FFFF, 0xFFFF_FFFF), []byte{})
	f.Add(seed(6, 1, 0, 8, 64), []byte("accounts"))
	f.Add(seed(6, 3, 0, 3, 64), []byte("api"))
	f.Add(seed(6, uint64(abi.OpenStore|abi.OpenWithValue), 0, 8, 64), []byte("accounts"))
	req := (&abi.HTTPRequest{Method: "GET", Path: "x", Header: abi.AppendHeader(nil, "a", "b")}).Encode(nil)
	f.Add(seed(3, 2, 0, 7, 8, uint64(len(req)), 1000), append([]byte("Request\x00"), req...))

	ctx := context.Background()
	mem := testMemory(f)
	// What a host function says goes nowhere: a run's console, as Run makes one.
	a := &run{log: slog.New(slog.NewTextHandler(io.Discard, nil)), byService: map[string]*instance{}, errConsole: lines.NewSink(io.Discard)}
	callee := newInstance(a, &GuestSpec{Name: "echo", Kind: Service, Implements: []string{"test.Echo"}, MethodTimeout: time.Second})
	a.byService["test.Echo"] = callee
	// An http endpoint where nothing listens: what the fuzzer sends it
	// is decoded and checked, and sent nowhere but to a refused port.
	http, err := egress.New([]egress.Spec{{Name: "api", URL: "http://127.0.0.1:1/v1"}}, egress.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(http.Close)
	a.http = http

	f.Fuzz(func(t *testing.T, call []byte, memory []byte) {
		if len(call) == 0 {
			return
		}
		in := newInstance(a, &GuestSpec{Name: "fuzzer", Kind: Program, Requires: []string{"echo"}, Implements: []string{"test.Echo"}, Uses: []string{"http.api"}})
		in.handles = []route.Endpoint{callee, http.Endpoint("api")}
		// An incoming call to answer, so that reply has something to find.
		in.incoming[1] = replyTarget{caller: callee, callID: 7}
		h := hostFuncs[int(call[0])%len(hostFuncs)]
		stack := make([]uint64, max(h.params, 1))
		args := call[1:]
		for i := range h.params {
			if len(args) >= 8 {
				stack[i] = binary.LittleEndian.Uint64(args)
				args = args[8:]
			}
		}
		if h.name == abi.FuncPoll {
			stack[0] = 0 // never wait: a fuzz run must not block
		}
		if !mem.Write(0, make([]byte, mem.Size())) || !mem.Write(0, memory[:min(len(memory), int(mem.Size()))]) {
			t.Fatal("cannot reset guest memory")
		}
		st := h.fn(ctx, in, mem, stack)
		if st > abi.StatusNotUsed {
			t.Errorf("%s answered status %d, which the ABI does not define", h.name, st)
		}
		callee.close("") // keep the callee's inbox from growing
		callee.reset()
	})
}
