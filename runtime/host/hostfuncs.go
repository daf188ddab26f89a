package host

import (
	"context"
	"log/slog"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"parigot.dev/parigot/runtime/internal/abi"
)

type instanceKey struct{}

func withInstance(ctx context.Context, in *instance) context.Context {
	return context.WithValue(ctx, instanceKey{}, in)
}

// hostFunc is the shape of every parigot host function: it reads its
// arguments from stack, may write results into guest memory, and returns a
// status for the guest.
type hostFunc func(ctx context.Context, in *instance, mem api.Memory, stack []uint64) abi.Status

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// exportHostModule defines the "parigot" host module on rt.
func exportHostModule(ctx context.Context, rt wazero.Runtime, log *slog.Logger) error {
	b := rt.NewHostModuleBuilder(abi.HostModule)
	def := func(name string, fn hostFunc, params ...api.ValueType) {
		b.NewFunctionBuilder().WithGoModuleFunction(guard(name, fn, log), params, []api.ValueType{i32}).Export(name)
	}
	def(abi.FuncExport, hostExport, i32, i32)
	def(abi.FuncReady, hostReady)
	def(abi.FuncLocate, hostLocate, i32, i32, i32)
	def(abi.FuncDispatch, hostDispatch, i32, i32, i32, i32, i32, i32)
	def(abi.FuncPoll, hostPoll, i64, i32, i32, i32)
	def(abi.FuncReply, hostReply, i64, i32, i32, i32)
	_, err := b.Instantiate(ctx)
	return err
}

// guard finds the calling instance and makes sure nothing a guest does can
// panic the host: a panic inside a host function becomes StatusBadArgument
// for that guest, and is logged with the guest's name.
func guard(name string, fn hostFunc, log *slog.Logger) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		in, _ := ctx.Value(instanceKey{}).(*instance)
		if in == nil {
			stack[0] = uint64(abi.StatusBadArgument)
			return
		}
		defer func() {
			if r := recover(); r != nil {
				log.Error("host function failed", "guest", in.spec.Name, "function", name, "panic", r)
				stack[0] = uint64(abi.StatusBadArgument)
			}
		}()
		stack[0] = uint64(fn(ctx, in, mod.Memory(), stack))
	}
}

// readBytes copies n bytes at ptr out of guest memory; ok is false when
// they lie outside it.
func readBytes(mem api.Memory, ptr, n uint32) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	b, ok := mem.Read(ptr, n)
	if !ok {
		return nil, false
	}
	return append([]byte(nil), b...), true
}

const maxName = 1024

func hostExport(_ context.Context, in *instance, mem api.Memory, stack []uint64) abi.Status {
	ptr, n := uint32(stack[0]), uint32(stack[1])
	if n > maxName {
		return abi.StatusBadArgument
	}
	name, ok := readBytes(mem, ptr, n)
	if !ok {
		return abi.StatusBadPointer
	}
	for _, s := range in.spec.Implements {
		if s == string(name) {
			in.exported[s] = true
			return abi.StatusOK
		}
	}
	return abi.StatusNotImplemented
}

func hostReady(_ context.Context, in *instance, _ api.Memory, _ []uint64) abi.Status {
	in.readyOnce.Do(func() { close(in.readyCh) })
	return abi.StatusOK
}

func hostLocate(_ context.Context, in *instance, mem api.Memory, stack []uint64) abi.Status {
	ptr, n, out := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	if n > maxName {
		return abi.StatusBadArgument
	}
	name, ok := readBytes(mem, ptr, n)
	if !ok {
		return abi.StatusBadPointer
	}
	callee := in.app.lookup(string(name))
	if callee == nil {
		return abi.StatusNotFound
	}
	if !in.requires(callee) {
		return abi.StatusNotRequired
	}
	for i, h := range in.handles {
		if h == callee {
			return writeU32(mem, out, uint32(i+1))
		}
	}
	if st := writeU32(mem, out, uint32(len(in.handles)+1)); st != abi.StatusOK {
		return st
	}
	in.handles = append(in.handles, callee)
	return abi.StatusOK
}

func (in *instance) requires(callee Endpoint) bool {
	for _, r := range in.spec.Requires {
		if r == callee.GuestName() {
			return true
		}
	}
	return false
}

func hostDispatch(_ context.Context, in *instance, mem api.Memory, stack []uint64) abi.Status {
	h := uint32(stack[0])
	mptr, mlen := uint32(stack[1]), uint32(stack[2])
	rptr, rlen := uint32(stack[3]), uint32(stack[4])
	out := uint32(stack[5])
	if h == 0 || int(h) > len(in.handles) {
		return abi.StatusBadHandle
	}
	if mlen > maxName {
		return abi.StatusBadArgument
	}
	if rlen > abi.MaxPayload {
		return abi.StatusTooLarge
	}
	method, ok := mem.Read(mptr, mlen)
	if !ok {
		return abi.StatusBadPointer
	}
	name := in.intern(method)
	req, ok := readBytes(mem, rptr, rlen)
	if !ok {
		return abi.StatusBadPointer
	}
	// Check the id slot before dispatching, so that a bad pointer cannot
	// leave a call in flight that the guest knows nothing of.
	if _, ok := mem.ReadUint64Le(out); !ok {
		return abi.StatusBadPointer
	}
	id := in.dispatch(in.handles[h-1], *name, req)
	return writeU64(mem, out, id)
}

func hostPoll(ctx context.Context, in *instance, mem api.Memory, stack []uint64) abi.Status {
	timeout := time.Duration(int64(stack[0]))
	ptr, capacity, out := uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	if _, ok := mem.ReadUint32Le(out); !ok {
		return abi.StatusBadPointer
	}
	if _, ok := mem.Read(ptr, capacity); !ok {
		return abi.StatusBadPointer
	}
	in.busySince.Store(0)
	ev, ok, shutdown := in.next(ctx, timeout)
	if shutdown {
		return abi.StatusShutdown
	}
	if !ok {
		return abi.StatusTimeout
	}
	size := uint32(ev.Size())
	if size > capacity {
		writeU32(mem, out, size)
		return abi.StatusBufferTooSmall
	}
	buf, _ := mem.Read(ptr, size)
	ev.Encode(buf)
	in.pop()
	if ev.Kind == abi.KindCall {
		in.busyMethod.Store(in.internString(ev.Method))
		in.busySince.Store(time.Now().UnixNano())
	}
	return writeU32(mem, out, size)
}

func hostReply(_ context.Context, in *instance, mem api.Memory, stack []uint64) abi.Status {
	id := stack[0]
	code := abi.Code(uint32(stack[1]))
	ptr, n := uint32(stack[2]), uint32(stack[3])
	if n > abi.MaxPayload {
		return abi.StatusTooLarge
	}
	payload, ok := readBytes(mem, ptr, n)
	if !ok {
		return abi.StatusBadPointer
	}
	if !in.reply(id, code, payload) {
		return abi.StatusUnknownCall
	}
	return abi.StatusOK
}

func writeU32(mem api.Memory, ptr, v uint32) abi.Status {
	if !mem.WriteUint32Le(ptr, v) {
		return abi.StatusBadPointer
	}
	return abi.StatusOK
}

func writeU64(mem api.Memory, ptr uint32, v uint64) abi.Status {
	if !mem.WriteUint64Le(ptr, v) {
		return abi.StatusBadPointer
	}
	return abi.StatusOK
}
