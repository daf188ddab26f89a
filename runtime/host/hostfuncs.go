package host

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"parigot.dev/parigot/internal/fuel"
	"parigot.dev/parigot/internal/srctree"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// The host functions a guest imports from the module "parigot"
// (//go:wasmimport parigot <name>; runtime/guest declares them). Each one
// returns an abi.Status as its only result, validates every argument before
// it acts, and never panics the host: a malformed request is a status for
// that guest alone. Arguments arrive in uint64 stack slots; an i32 may carry
// garbage in its upper bits, so each is read with uint32().
//
// Pointers are offsets into the guest's linear memory; a (pointer, length)
// pair that does not lie wholly inside it is StatusBadPointer, and an
// out-pointer is checked before anything happens that the guest could not
// learn of otherwise.

type instanceKey struct{}

func withInstance(ctx context.Context, in *instance) context.Context {
	return context.WithValue(ctx, instanceKey{}, in)
}

// hostFunc is the shape of every parigot host function: it reads its
// arguments from stack, may write results into guest memory, and returns a
// status for the guest.
type hostFunc func(ctx context.Context, in *instance, mem memory, stack []uint64) abi.Status

// memory is what a host function uses of a guest's linear memory: a wasm
// guest's api.Memory, or the scratch memory of a native guest's request
// (see native.go).
type memory interface {
	Read(offset, byteCount uint32) ([]byte, bool)
	ReadUint32Le(offset uint32) (uint32, bool)
	ReadUint64Le(offset uint32) (uint64, bool)
	WriteUint32Le(offset, v uint32) bool
	WriteUint64Le(offset uint32, v uint64) bool
}

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
	def(abi.FuncDispatch, hostDispatch, i32, i32, i32, i32, i32, i32, i64)
	def(abi.FuncPoll, hostPoll, i64, i32, i32, i32)
	def(abi.FuncReply, hostReply, i64, i32, i32, i32)
	def(abi.FuncOpen, hostOpen, i32, i32, i32, i32)
	def(abi.FuncExiting, hostExiting)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(hostYield), nil, []api.ValueType{i32}).Export(fuel.ImportName)
	_, err := b.Instantiate(ctx)
	return err
}

// hostYield is what an instrumented guest (internal/fuel) calls every
// fuel.Budget loop iterations. It takes no arguments and returns the fuel
// for the next stretch. Being Go code, it is where the Go runtime can
// preempt a guest that loops without calling the host; and when the host
// has stopped the guest (ctx ends: an overrun under on_overrun = "stop", a
// stop, Ctrl-C), it ends the guest's run there with an exit that the host
// reads as "stopped" (for an overrun, an error that carries the wasm stack
// trace: see errStoppedOverBudget). It does not go through guard: its panic is the way
// out of the guest, which wazero turns into the run's error.
func hostYield(ctx context.Context, _ api.Module, stack []uint64) {
	if ctx.Err() != nil {
		if in, _ := ctx.Value(instanceKey{}).(*instance); in != nil && in.overran.Load() != nil {
			// Stopped for running over its budget: a panic that is not an
			// exit makes wazero add the wasm stack trace to the run's
			// error, which says where the guest's code was.
			panic(errStoppedOverBudget)
		}
		panic(sys.NewExitError(sys.ExitCodeContextCanceled))
	}
	stack[0] = fuel.Budget
}

// errStoppedOverBudget ends a guest the host stops for running over its
// method budget, at the yield it reached (see hostYield).
var errStoppedOverBudget = errors.New("stopped by parigot: over its method budget")

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
		if in.run.obs != nil {
			in.memory.Store(uint64(mod.Memory().Size()))
		}
		stack[0] = uint64(fn(ctx, in, mod.Memory(), stack))
	}
}

// readBytes copies n bytes at ptr out of guest memory; ok is false when
// they lie outside it.
func readBytes(mem memory, ptr, n uint32) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	b, ok := mem.Read(ptr, n)
	if !ok {
		return nil, false
	}
	return append([]byte(nil), b...), true
}

// maxName bounds a service or method name a guest passes.
const maxName = 1024

// Stack slots of export.
const (
	exportNamePtr = iota // i32: the proto service's full name, e.g. "greeting.v1.Greeting"
	exportNameLen        // i32: its length in bytes, at most maxName
)

// hostExport declares that the guest serves a proto service.
//
// Statuses: StatusOK; StatusNotImplemented when the guest's implements in
// parigot.hcl does not list the service; StatusBadArgument for a name over
// maxName; StatusBadPointer.
func hostExport(_ context.Context, in *instance, mem memory, stack []uint64) abi.Status {
	ptr, n := uint32(stack[exportNamePtr]), uint32(stack[exportNameLen])
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
			in.hasExported.Store(true)
			return abi.StatusOK
		}
	}
	in.sayManifestFix(string(name), in.exportFix(string(name)))
	return abi.StatusNotImplemented
}

// exportFix is what to change in parigot.hcl so that the guest may export
// the proto service name, which its implements does not list.
func (in *instance) exportFix(name string) string {
	if other := in.run.lookup(name); other != nil && other.GuestName() != in.spec.Name {
		// Listing it would make the manifest name two implementations.
		return fmt.Sprintf("cannot export %s: service %s implements it, and a proto service has one implementation; to use it, call it: locate it, with service.%s in the requires of %s %s in parigot.hcl",
			name, other.GuestName(), other.GuestName(), in.spec.Kind, in.spec.Name)
	}
	return fmt.Sprintf("cannot export %s: add it to the implements of %s %s in parigot.hcl", name, in.spec.Kind, in.spec.Name)
}

// sayManifestFix says, once per guest and proto service, what to change in
// parigot.hcl for a host call the manifest refused (the guest names only
// the refusal: it does not know the manifest).
func (in *instance) sayManifestFix(service, fix string) {
	if in.fixesSaid == nil {
		in.fixesSaid = map[string]bool{}
	}
	if in.fixesSaid[service] {
		return
	}
	in.fixesSaid[service] = true
	in.run.say("parigot: %s: %s", in.run.label(in), fix)
}

// hostReady says the guest is ready to serve: the host then starts the
// guests that require it. It takes no arguments and returns StatusOK; a
// second call changes nothing.
func hostReady(_ context.Context, in *instance, _ memory, _ []uint64) abi.Status {
	in.readyOnce.Do(func() { close(in.readyCh) })
	in.up.Store(true)
	if p, ok := in.run.cfg.Remote.(route.Pauser); ok && in.spec.Kind == Service {
		// Started again after a failure: it takes calls from other
		// processes again (see supervise). The first start is served by
		// Remote.Ready, once the host has seen it ready.
		if err := p.Resume(in.spec.Name); err != nil {
			in.run.say("parigot: service %s is ready again, but takes no calls from other processes: %v", in.run.label(in), err)
		}
	}
	if in.readyWaiter != nil {
		close(in.readyWaiter)
		in.readyWaiter = nil
	}
	if s := in.starting; s != nil { // a reload's new version is in: the old one goes
		in.starting = nil
		s.oldRT.Close(context.Background())
	}
	return abi.StatusOK
}

// hostExiting says the guest exits through guest.ExitSelf (the exit code
// follows in WASI's proc_exit): a program that ends without it returned
// from its main, perhaps before its event loop ran (see saidNoLoop). It
// takes no arguments and returns StatusOK.
func hostExiting(_ context.Context, in *instance, _ memory, _ []uint64) abi.Status {
	in.exiting.Store(true)
	return abi.StatusOK
}

// Stack slots of locate.
const (
	locateNamePtr   = iota // i32: the proto service's full name
	locateNameLen          // i32: its length, at most maxName
	locateHandleOut        // i32: where the host writes the handle, a u32 (from 1)
)

// hostLocate finds a service the guest may call and gives it a handle for
// dispatch; locating the same service again gives the same handle.
//
// With abi.LocateFix in locateNameLen, a StatusNotRequired comes with the
// fix to parigot.hcl that the host says beside it (which service to add to
// whose requires), written as a fix record at locateHandleOut: the guest's
// error says it too. The flag, not a new parameter, keeps guests built
// before it loading (see docs/ARCHITECTURE.md on open's OpenWithValue).
//
// Statuses: StatusOK; StatusNotFound when no guest of the app (here or in
// another process) serves it; StatusNotRequired when the guest's requires
// does not list the guest serving it; StatusBadArgument; StatusBadPointer.
func hostLocate(_ context.Context, in *instance, mem memory, stack []uint64) abi.Status {
	ptr, n, out := uint32(stack[locateNamePtr]), uint32(stack[locateNameLen]), uint32(stack[locateHandleOut])
	withFix := n&abi.LocateFix != 0
	n &^= abi.LocateFix
	if n > maxName {
		return abi.StatusBadArgument
	}
	name, ok := readBytes(mem, ptr, n)
	if !ok {
		return abi.StatusBadPointer
	}
	callee := in.run.lookup(string(name))
	if callee == nil {
		return abi.StatusNotFound
	}
	if !in.requires(callee.GuestName()) {
		fix := fmt.Sprintf("cannot locate %s: service %s implements it; add service.%s to the requires of %s %s in parigot.hcl",
			name, callee.GuestName(), callee.GuestName(), in.spec.Kind, in.spec.Name)
		in.sayManifestFix(string(name), fix)
		if withFix {
			return writeFix(mem, out, fix)
		}
		return abi.StatusNotRequired
	}
	return in.handle(mem, out, callee)
}

// writeFix writes fix as locate's fix record at out (see abi.LocateFix),
// and returns StatusNotRequired, or StatusBadPointer when the record is
// outside the guest's memory.
func writeFix(mem memory, out uint32, fix string) abi.Status {
	fix = fix[:min(len(fix), abi.MaxFix)]
	room, ok := mem.Read(out, abi.FixRecordSize)
	if !ok || !mem.WriteUint32Le(out, uint32(len(fix))) {
		return abi.StatusBadPointer
	}
	copy(room[4:], fix)
	return abi.StatusNotRequired
}

func (in *instance) requires(guest string) bool {
	for _, r := range in.spec.Requires {
		if r == guest {
			return true
		}
	}
	return false
}

// Stack slots of dispatch.
const (
	dispatchHandle    = iota // i32: a handle from locate
	dispatchMethodPtr        // i32: the method's full name, "package.Service/Method"
	dispatchMethodLen        // i32: its length, at most maxName
	dispatchReqPtr           // i32: the request, protobuf bytes
	dispatchReqLen           // i32: its length, at most abi.MaxPayload
	dispatchCallIDOut        // i32: where the host writes the call's id, a u64
	dispatchDeadline         // i64: the deadline of the call the guest is serving, Unix nanoseconds; 0: none
)

// hostDispatch starts a call and returns at once: its reply (or its error:
// a deadline, an unavailable or overloaded callee) arrives later as a
// KindReply event from poll with the same call id, exactly once. The host
// copies the request, so the guest may reuse its buffer. The call's
// deadline is the callee's budget from now, or dispatchDeadline when that
// is earlier: a call made on behalf of another inherits what is left of it.
//
// Statuses: StatusOK; StatusBadHandle; StatusTooLarge for a request over
// abi.MaxPayload; StatusTooManyCalls when the guest already has
// abi.MaxInFlight calls whose replies it has not read; StatusBadArgument;
// StatusBadPointer (for any of the three pointers, before the call starts).
func hostDispatch(_ context.Context, in *instance, mem memory, stack []uint64) abi.Status {
	h := uint32(stack[dispatchHandle])
	mptr, mlen := uint32(stack[dispatchMethodPtr]), uint32(stack[dispatchMethodLen])
	rptr, rlen := uint32(stack[dispatchReqPtr]), uint32(stack[dispatchReqLen])
	out := uint32(stack[dispatchCallIDOut])
	if h == 0 || int(h) > len(in.handles) {
		return abi.StatusBadHandle
	}
	if mlen > maxName {
		return abi.StatusBadArgument
	}
	if rlen > abi.MaxPayload {
		return abi.StatusTooLarge
	}
	if in.inFlight() >= abi.MaxInFlight {
		return abi.StatusTooManyCalls
	}
	method, ok := mem.Read(mptr, mlen)
	if !ok {
		return abi.StatusBadPointer
	}
	if !utf8.Valid(method) { // a name from a .proto is text; metrics, logs and traces show it
		return abi.StatusBadArgument
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
	id := in.dispatch(in.handles[h-1], *name, req, int64(stack[dispatchDeadline]))
	return writeU64(mem, out, id)
}

// Stack slots of poll.
const (
	pollTimeout = iota // i64: nanoseconds to wait; 0 looks without waiting, negative waits until an event
	pollBufPtr         // i32: where the host writes the event (abi.Event's encoding)
	pollBufCap         // i32: the buffer's size
	pollSizeOut        // i32: where the host writes the event's size, a u32
)

// hostPoll hands the guest its next event: an incoming call, or the reply
// to one of its calls. It blocks on the guest's own goroutine, and only it.
//
// Statuses: StatusOK with the event in the buffer and its size at
// pollSizeOut; StatusBufferTooSmall with the size needed at pollSizeOut
// (the event stays first in line); StatusTimeout; StatusShutdown when the
// host is stopping the guest; StatusBadPointer.
func hostPoll(ctx context.Context, in *instance, mem memory, stack []uint64) abi.Status {
	timeout := time.Duration(int64(stack[pollTimeout]))
	ptr, capacity, out := uint32(stack[pollBufPtr]), uint32(stack[pollBufCap]), uint32(stack[pollSizeOut])
	if _, ok := mem.ReadUint32Le(out); !ok {
		return abi.StatusBadPointer
	}
	if _, ok := mem.Read(ptr, capacity); !ok {
		return abi.StatusBadPointer
	}
	if in.backAtPoll() {
		// The watchdog decided to stop the guest before it came back: the
		// stop, which follows the line that says it, is a moment away.
		<-ctx.Done()
		in.stoppedInPoll.Store(true)
		return abi.StatusShutdown
	}
	in.onBehalf = 0
	ev, ok, shutdown := in.next(ctx, timeout)
	if shutdown {
		in.stoppedInPoll.Store(true)
		return abi.StatusShutdown
	}
	if in.run.trace != nil {
		in.runsOnBehalf(&ev, ok)
	}
	if in.spec.Kind == Service && (!ok || ev.Kind != abi.KindCall) {
		// The guest runs a timer, a reply's callbacks or background work
		// until its next poll: the watchdog stops it if that keeps its
		// calls waiting past the method budget (see overrunAt).
		in.busyMethod.Store(betweenCalls)
		in.busySince.Store(unixNano())
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
	switch ev.Kind {
	case abi.KindCall:
		in.onBehalf = ev.CallID
	case abi.KindReply:
		if b, ok := in.behalf[ev.CallID]; ok {
			in.onBehalf = b
			delete(in.behalf, ev.CallID)
		}
	}
	if ev.Kind == abi.KindCall {
		in.busyMethod.Store(in.internString(ev.Method))
		since := in.lookedAt // next looked at the time, for the call's deadline, a moment ago
		if since == 0 {
			since = unixNano()
		}
		in.busySince.Store(since)
	}
	return writeU32(mem, out, size)
}

// Stack slots of reply.
const (
	replyCallID     = iota // i64: the id of the incoming call, from its poll event
	replyCode              // i32: an abi.Code; CodeOK for a reply
	replyPayloadPtr        // i32: the reply (CodeOK) or a UTF-8 error message
	replyPayloadLen        // i32: its length, at most abi.MaxPayload
)

// hostReply answers an incoming call, once.
//
// Statuses: StatusOK; StatusUnknownCall for an id the guest was not given
// or has answered already; StatusTooLarge; StatusBadPointer;
// StatusBadArgument for a code beyond abi.MaxCode, which answers the call
// with CodeInternal, as a reply with such a code from another process does.
func hostReply(_ context.Context, in *instance, mem memory, stack []uint64) abi.Status {
	id := stack[replyCallID]
	code := abi.Code(uint32(stack[replyCode]))
	ptr, n := uint32(stack[replyPayloadPtr]), uint32(stack[replyPayloadLen])
	if code > abi.MaxCode {
		if !in.reply(id, abi.CodeInternal, abi.EncodeError(abi.CodeInternal, "malformed reply from service "+in.spec.Name)) {
			return abi.StatusUnknownCall
		}
		return abi.StatusBadArgument
	}
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

// Stack slots of open.
const (
	openKind      = iota // i32: abi.OpenStore, abi.OpenTopic or abi.OpenHTTP; abi.OpenStore|abi.OpenWithValue for a store's value type too
	openNamePtr          // i32: the store's, topic's or http endpoint's name in parigot.hcl
	openNameLen          // i32: its length, at most maxName
	openHandleOut        // i32: where the host writes the handle, a u32 (from 1); with abi.OpenWithValue, an open record (abi.OpenRecordSize bytes)
)

// hostOpen gives the guest a handle for a store, topic or http endpoint,
// on which it dispatches the operations of abi (OpGet, OpPublish,
// OpRequest...) as calls; opening the same one again gives the same
// handle. With abi.OpenWithValue, a store's handle and the message type
// its values are declared as go into the open record at handleOut.
//
// Statuses: StatusOK; StatusNotFound when the app declares none of that
// kind and name; StatusNotUsed when the guest's uses in parigot.hcl does
// not list it; StatusBadArgument for an unknown kind (abi.OpenWithValue
// on any but a store's included) or a name over maxName;
// StatusBufferTooSmall when the value type is longer than the record
// makes room for (the handle and its length are written); StatusBadPointer.
func hostOpen(_ context.Context, in *instance, mem memory, stack []uint64) abi.Status {
	kind := uint32(stack[openKind])
	withValue := kind == abi.OpenStore|abi.OpenWithValue
	if withValue {
		kind = abi.OpenStore
	}
	ptr, n, out := uint32(stack[openNamePtr]), uint32(stack[openNameLen]), uint32(stack[openHandleOut])
	var prefix string
	switch kind {
	case abi.OpenStore:
		prefix = "store."
	case abi.OpenTopic:
		prefix = "topic."
	case abi.OpenHTTP:
		prefix = "http."
	default:
		return abi.StatusBadArgument
	}
	if n > maxName {
		return abi.StatusBadArgument
	}
	name, ok := readBytes(mem, ptr, n)
	if !ok {
		return abi.StatusBadPointer
	}
	var ep route.Endpoint
	var value string
	if kind == abi.OpenHTTP {
		if ep = in.run.http.Endpoint(string(name)); ep == nil {
			return abi.StatusNotFound
		}
	} else {
		st := in.run.cfg.State
		if st == nil || !st.Declares(kind, string(name)) {
			return abi.StatusNotFound
		}
		// Nil when declared, but this process opened only what its
		// guest uses.
		ep = st.Endpoint(kind, string(name))
		if withValue {
			value = st.StoreValue(string(name))
		}
	}
	if ep == nil || !slices.Contains(in.spec.Uses, prefix+string(name)) {
		return abi.StatusNotUsed
	}
	if withValue {
		return in.openWithValue(mem, out, ep, value)
	}
	return in.handle(mem, out, ep)
}

// openWithValue fills the open record at out (abi.OpenWithValue) with
// the guest's handle for a store and value, the message type its values
// are declared as. Every pointer is checked before the guest is given a
// handle.
func (in *instance) openWithValue(mem memory, out uint32, ep route.Endpoint, value string) abi.Status {
	rec, ok := mem.Read(out, abi.OpenRecordSize)
	if !ok {
		return abi.StatusBadPointer
	}
	ptr := binary.LittleEndian.Uint32(rec[abi.OpenRecordValuePtr:])
	capacity := binary.LittleEndian.Uint32(rec[abi.OpenRecordValueCap:])
	buf, ok := mem.Read(ptr, min(capacity, uint32(len(value))))
	if !ok {
		return abi.StatusBadPointer
	}
	if st := in.handle(mem, out+abi.OpenRecordHandle, ep); st != abi.StatusOK {
		return st
	}
	if st := writeU32(mem, out+abi.OpenRecordValueLen, uint32(len(value))); st != abi.StatusOK {
		return st
	}
	if uint32(len(value)) > capacity {
		return abi.StatusBufferTooSmall
	}
	copy(buf, value)
	return abi.StatusOK
}

// handle writes at out the guest's handle for ep, giving it one the first
// time.
func (in *instance) handle(mem memory, out uint32, ep route.Endpoint) abi.Status {
	for i, h := range in.handles {
		if h == ep {
			return writeU32(mem, out, uint32(i+1))
		}
	}
	if st := writeU32(mem, out, uint32(len(in.handles)+1)); st != abi.StatusOK {
		return st
	}
	in.handles = append(in.handles, ep)
	return abi.StatusOK
}

func writeU32(mem memory, ptr, v uint32) abi.Status {
	if !mem.WriteUint32Le(ptr, v) {
		return abi.StatusBadPointer
	}
	return abi.StatusOK
}

func writeU64(mem memory, ptr uint32, v uint64) abi.Status {
	if !mem.WriteUint64Le(ptr, v) {
		return abi.StatusBadPointer
	}
	return abi.StatusOK
}

// NewerLibraryError is a guest that imports a host function of module
// "parigot" which this host does not export: it was compiled against a
// parigot library newer than the host, whose guest/host interface has
// grown since. wazero would refuse it only when it starts, with a message
// that names the function and nothing else.
type NewerLibraryError struct {
	Function string // the first such import, in the module's order
}

func (e *NewerLibraryError) Error() string {
	return fmt.Sprintf("it calls parigot's host function %q, which this parigot does not have: it was built against a newer parigot library than this parigot. "+
		"Install parigot from the source tree the app's go.mod takes %s from (go install ./cmd/parigot there), "+
		"or point go.mod at the tree this parigot was built from (go mod edit -replace %s=DIR), then build again",
		e.Function, srctree.Module, srctree.Module)
}

// checkHostImports returns a *NewerLibraryError for a compiled guest that
// imports from module "parigot" a function that rt's parigot module (see
// exportHostModule) does not export.
func checkHostImports(rt wazero.Runtime, compiled wazero.CompiledModule) error {
	hostMod := rt.Module(abi.HostModule)
	if hostMod == nil {
		return nil
	}
	exported := hostMod.ExportedFunctionDefinitions()
	for _, f := range compiled.ImportedFunctions() {
		if mod, name, ok := f.Import(); ok && mod == abi.HostModule && exported[name] == nil {
			return &NewerLibraryError{Function: name}
		}
	}
	return nil
}
