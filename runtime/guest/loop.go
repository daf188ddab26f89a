package guest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
	"unsafe"

	"google.golang.org/protobuf/proto"

	"parigot.dev/parigot/runtime/internal/abi"
)

// A guest is one wasm module with one event loop, so the loop's state lives in
// the package: there is exactly one per guest process.
var loop = eventLoop{
	services: make(map[string]*exported),
	methods:  make(map[string]served),
}

type eventLoop struct {
	pending  inFlight             // dispatched calls awaiting their reply, by call id
	services map[string]*exported // exported services, by full proto name
	methods  map[string]served    // their methods, by full name ("service/method")
	// lastServed is the method served last (none yet: its full name is
	// empty). A service is called the same method again and again, most
	// often, and inside wasm comparing a name with it costs less than
	// hashing the name to look it up in methods (which has no hardware
	// hash there).
	lastServed served
	// deadline is the deadline (Unix nanoseconds, 0: none) of the incoming
	// call on whose behalf the loop runs code right now: while a method runs,
	// and while the callbacks of the calls it made (and the timers it set)
	// run. Calls dispatched meanwhile inherit it, so a chain of calls never
	// outlives its first caller. Background work does not: it outlives the
	// call that started it.
	deadline int64
	tasks    []func()             // callbacks queued to run on the loop
	buf      []byte               // poll buffer, grown on demand (see letGoOfLarge)
	ev       abi.Event            // the event last read from buf, which it borrows from (passed on by pointer: a copy costs wasm)
	send     []byte               // requests are encoded here; the host copies them
	reply    []byte               // replies answered at once are encoded here; the host copies them
	names    map[methodKey]string // "service/method" names built so far
	// last is the name fullName returned last, and the strings it was
	// asked for: a program most often calls one method again and again,
	// with the same constant strings.
	last struct {
		key  methodKey
		full string
	}

	// ctxs are the contexts of calls to come, made in blocks, so that a
	// call's context costs no allocation of its own. A method may keep
	// its context; it then keeps its block alive, and no other call
	// ever gets that context.
	ctxs []callContext
	// futures are the completed futures Resolved hands out, made in
	// blocks the same way (see completed). Their values are replies, most
	// often, which a block keeps alive until it is dropped: the loop drops
	// it once a large message has passed (see letGoOfLarge).
	futures []Future[unsafe.Pointer]

	timers     []timer       // After callbacks, soonest first
	background []func() bool // Background steps, run while no event waits
}

// inFlight is the calls a guest dispatched and awaits the replies of, by
// call id. A guest has a few in flight at a time, most often: those are
// kept in a short slice, whose search costs less inside wasm than hashing
// an id into a map twice a call (to add it, to take it); past
// fewInFlight, in a map, until none is left.
type inFlight struct {
	few  []inFlightCall
	many map[uint64]pendingCall
}

type inFlightCall struct {
	id   uint64
	call pendingCall
}

// fewInFlight is how many calls in flight the slice holds.
const fewInFlight = 16

func (f *inFlight) len() int {
	if f.many != nil {
		return len(f.many)
	}
	return len(f.few)
}

func (f *inFlight) add(id uint64, c pendingCall) {
	if f.many == nil && len(f.few) < fewInFlight {
		f.few = append(f.few, inFlightCall{id, c})
		return
	}
	if f.many == nil {
		f.many = make(map[uint64]pendingCall, 2*fewInFlight)
		for _, e := range f.few {
			f.many[e.id] = e.call
		}
		clear(f.few)
		f.few = f.few[:0]
	}
	f.many[id] = c
}

// take removes the call id and returns it; ok is false when it is not in
// flight.
func (f *inFlight) take(id uint64) (c pendingCall, ok bool) {
	if f.many != nil {
		if c, ok = f.many[id]; ok {
			delete(f.many, id)
			if len(f.many) == 0 {
				f.many = nil // back to the slice
			}
		}
		return c, ok
	}
	for i := range f.few {
		if f.few[i].id == id {
			c = f.few[i].call
			last := len(f.few) - 1
			f.few[i] = f.few[last]
			f.few[last] = inFlightCall{}
			f.few = f.few[:last]
			return c, true
		}
	}
	return pendingCall{}, false
}

// pendingCall is a dispatched call awaiting its reply.
type pendingCall struct {
	done     replyReader
	deadline int64 // the loop's deadline when the call was made: its callbacks run under it
}

// replyReader completes a dispatched call with its reply, which is the
// loop's, and only lent: valid until read returns.
type replyReader interface{ read(*abi.Event) }

// replyFunc is a function as a replyReader.
type replyFunc func(*abi.Event)

func (f replyFunc) read(ev *abi.Event) { f(ev) }

// invocation is a call Invoke made: its future, and where its reply is
// decoded, in one allocation (a closure would be a second).
type invocation[Resp proto.Message] struct {
	Future[Resp]
	method string
	resp   Resp
}

func (c *invocation[Resp]) read(ev *abi.Event) {
	if ev.Code != abi.CodeOK {
		c.Reject(replyError(c.method, ev.Code, ev.Payload))
		return
	}
	if err := unmarshal(ev.Payload, c.resp); err != nil {
		c.Reject(&Error{Code: CodeInternal, Method: c.method, Message: "decoding reply: " + err.Error()})
		return
	}
	c.Resolve(c.resp)
}

// under runs fn with the loop's deadline set to deadline, and restores it.
func (l *eventLoop) under(deadline int64, fn func()) {
	prev := l.deadline
	l.deadline = deadline
	defer func() { l.deadline = prev }()
	fn()
}

type exported struct {
	name string
	impl any
}

// Method is the protocol half of one service method: it decodes the request,
// runs the method, and yields the encoded reply. Generated stubs build them
// with UnaryMethodVT or UnaryMethod.
//
// req is the loop's own buffer, valid only until the Method returns: the
// next event is read into it. A Method that answers later (its future
// completes in a callback) copies what it keeps of req before returning;
// the generated stubs decode it first, into a message of their own.
type Method func(ctx context.Context, req []byte) *Future[[]byte]

// Readier is implemented by services that need to do something once launched
// and before they take calls (typically Locate the services they require).
// Returning false stops the guest: it never becomes ready.
type Readier interface {
	Ready(ctx context.Context) bool
}

// UnaryMethod adapts a typed method implementation to a Method. Messages with
// the fast marshalling methods codegen generates are decoded and encoded
// with them, others with protobuf-go.
func UnaryMethod[Req, Resp proto.Message](newReq func() Req, fn func(context.Context, Req) *Future[Resp]) Method {
	return methodOf(&unary[Req, Resp]{newReq: newReq, fn: fn})
}

// methodOf is u as a Method, which Export finds u by (see unaries).
func methodOf(u unaryServer) Method {
	m := Method(func(ctx context.Context, in []byte) *Future[[]byte] {
		b, later, err := u.serve(ctx, in, nil)
		if later != nil {
			return later
		}
		if err != nil {
			return Rejected[[]byte](err)
		}
		return Resolved(b)
	})
	unaries[funcID(m)] = made{m, u}
	return m
}

// UnaryMethodVT is UnaryMethod for a method whose request and reply
// messages have the fast marshalling methods codegen generates (with
// vtprotobuf), as those of an app's proto3 packages do: it calls them
// directly, where UnaryMethod first asks each message whether it has
// them. Generated stubs use it for those methods.
func UnaryMethodVT[ReqT, RespT any, Req vtDecodable[ReqT], Resp vtEncodable[RespT]](fn func(context.Context, Req) *Future[Resp]) Method {
	return methodOf(&unaryVT[ReqT, RespT, Req, Resp]{fn: fn})
}

// vtDecodable and vtEncodable are the messages UnaryMethodVT decodes and
// encodes, and the reply CallEncoded decodes: a pointer to a message
// struct, with the methods that decode or encode it.
type (
	vtDecodable[T any] interface {
		*T
		proto.Message
		fastUnmarshaler
		aliasUnmarshaler
	}
	vtEncodable[T any] interface {
		*T
		proto.Message
		fastMarshaler
	}
)

// UnaryMethodAs is UnaryMethodVT for a method one or both of whose messages
// are well-known types taken or returned as they are (google.protobuf.Empty,
// a wrapper, Timestamp, Duration, FieldMask): vtprotobuf's types/known
// packages give those the fast methods, but on a type of their own with the
// same fields (emptypb.Empty's are vtemptypb.Empty's). reqFast and respFast
// give a message as the type with the methods: converted, or as it is for
// a message of the app's. Generated stubs use it for those methods:
//
//	guest.UnaryMethodAs(impl.Ping,
//		func(m *emptypb.Empty) *vtemptypb.Empty { return (*vtemptypb.Empty)(m) },
//		func(m *pb.Pong) *pb.Pong { return m })
//
// Each conversion is a function the compiler checks, called once a
// message (a few nanoseconds), where UnaryMethod would look the methods up
// at run time.
func UnaryMethodAs[ReqT any, Req message[ReqT], Resp proto.Message, ReqFast aliasDecoder, RespFast fastMarshaler](fn func(context.Context, Req) *Future[Resp], reqFast func(Req) ReqFast, respFast func(Resp) RespFast) Method {
	return methodOf(&unaryAs[ReqT, Req, Resp, ReqFast, RespFast]{fn: fn, reqFast: reqFast, respFast: respFast})
}

// aliasDecoder is a message with both fast decoding methods (see place).
type aliasDecoder interface {
	fastUnmarshaler
	aliasUnmarshaler
}

// place returns a new message of type T for the encoded message in, and
// the bytes to decode it from. A small message (holdSize bytes at most)
// comes with a copy of in, allocated with it (held), which it is decoded
// from with UnmarshalVTUnsafe (held is then true): its strings and bytes
// stay in that copy, which is the message's own, where UnmarshalVT would
// allocate each anew. Inside wasm an allocation is about half the cost of
// decoding a small message (docs/BENCHMARKS.md, "A small message decoded
// where it was copied"). A larger message is decoded from in with
// UnmarshalVT, so that a field kept from it does not keep the whole
// message's bytes.
func place[T any](in []byte) (m *T, b []byte, held bool) {
	if len(in) > holdSize {
		return new(T), in, false
	}
	h := new(heldMessage[T])
	n := copy(h.buf[:], in)
	return &h.msg, h.buf[:n], true
}

// heldReply is a call's reply p to decode, and whether it is held: copied
// into buf, the call's own, when it fits there (see place).
func heldReply(buf *[holdSize]byte, p []byte) ([]byte, bool) {
	if len(p) > holdSize {
		return p, false
	}
	return buf[:copy(buf[:], p)], true
}

// decode decodes b into m: with UnmarshalVTUnsafe when b is held, the
// message's own copy of its encoding (see place), with UnmarshalVT
// otherwise.
func decode(m aliasDecoder, b []byte, held bool) error {
	if held {
		return m.UnmarshalVTUnsafe(b)
	}
	return m.UnmarshalVT(b)
}

// holdSize is the size of the largest encoded message place keeps with
// the message decoded from it.
const holdSize = 128

// heldMessage is a message and the copy of its encoding it was decoded
// from, in one allocation.
type heldMessage[T any] struct {
	msg T
	buf [holdSize]byte
}

// message is a pointer to a message struct.
type message[T any] interface {
	*T
	proto.Message
}

// unaryAs is a method UnaryMethodAs made, served as a unary is.
type unaryAs[ReqT any, Req message[ReqT], Resp proto.Message, ReqFast aliasDecoder, RespFast fastMarshaler] struct {
	fn       func(context.Context, Req) *Future[Resp]
	reqFast  func(Req) ReqFast
	respFast func(Resp) RespFast
}

func (u *unaryAs[ReqT, Req, Resp, ReqFast, RespFast]) serve(ctx context.Context, in, buf []byte) ([]byte, *Future[[]byte], error) {
	m, b, held := place[ReqT](in)
	req := Req(m)
	if err := decode(u.reqFast(req), b, held); err != nil {
		return nil, nil, &Error{Code: CodeInvalidArgument, Message: "decoding request: " + err.Error()}
	}
	reply := u.fn(ctx, req)
	if reply.done { // most methods answer at once
		b, err := u.encode(buf, reply.value, reply.err)
		return b, nil, err
	}
	return nil, encodeLater(reply, u.encode), nil
}

// encode is encodeReply with the reply's fast methods.
func (u *unaryAs[ReqT, Req, Resp, ReqFast, RespFast]) encode(buf []byte, resp Resp, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	b, err := appendFast(buf, u.respFast(resp))
	if err != nil {
		return nil, &Error{Code: CodeInternal, Message: "encoding reply: " + err.Error()}
	}
	return b, nil
}

// unaryVT is a method UnaryMethodVT made, served as a unary is. It is
// unaryAs without the conversions, on purpose: most methods take this path,
// and serving it as unaryAs, with two functions that return their
// argument, was no faster and in most pairs a little slower
// (docs/BENCHMARKS.md, "Stubs that convert a well-known type to its
// twin").
type unaryVT[ReqT, RespT any, Req vtDecodable[ReqT], Resp vtEncodable[RespT]] struct {
	fn func(context.Context, Req) *Future[Resp]
}

func (u *unaryVT[ReqT, RespT, Req, Resp]) serve(ctx context.Context, in, buf []byte) ([]byte, *Future[[]byte], error) {
	m, b, held := place[ReqT](in)
	req := Req(m)
	if err := decode(req, b, held); err != nil {
		return nil, nil, &Error{Code: CodeInvalidArgument, Message: "decoding request: " + err.Error()}
	}
	reply := u.fn(ctx, req)
	if reply.done { // most methods answer at once: encoded here, inlined
		b, err := encodeReplyVT(buf, reply.value, reply.err)
		return b, nil, err
	}
	return nil, encodeLater(reply, encodeReplyVT[RespT, Resp]), nil
}

// encodeReplyVT is encodeReply for a reply with the fast methods.
func encodeReplyVT[RespT any, Resp vtEncodable[RespT]](buf []byte, resp Resp, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	b, err := appendFast(buf, resp) // converted with the itab its type parameter carries
	if err != nil {
		return nil, &Error{Code: CodeInternal, Message: "encoding reply: " + err.Error()}
	}
	return b, nil
}

// unary is a method UnaryMethod made, which the loop calls through serve:
// a method that answers at once (most do) then costs no future and no
// buffer of its own.
type unary[Req, Resp proto.Message] struct {
	newReq func() Req
	fn     func(context.Context, Req) *Future[Resp]
}

// unaryServer is a unary of any types.
type unaryServer interface {
	// serve runs the method on the request in. When it answers at once,
	// serve returns its reply, appended to buf, or its error; otherwise
	// the future of them.
	serve(ctx context.Context, in, buf []byte) (reply []byte, later *Future[[]byte], err error)
}

func (u *unary[Req, Resp]) serve(ctx context.Context, in, buf []byte) ([]byte, *Future[[]byte], error) {
	req := u.newReq()
	if err := unmarshalFresh(in, req); err != nil {
		return nil, nil, &Error{Code: CodeInvalidArgument, Message: "decoding request: " + err.Error()}
	}
	reply := u.fn(ctx, req)
	if reply.done { // most methods answer at once
		b, err := encodeReply(buf, reply.value, reply.err)
		return b, nil, err
	}
	return nil, encodeLater(reply, encodeReply[Resp]), nil
}

// encodeLater is the future of reply's outcome, encoded.
func encodeLater[Resp proto.Message](reply *Future[Resp], encode func([]byte, Resp, error) ([]byte, error)) *Future[[]byte] {
	out := NewFuture[[]byte]()
	reply.whenDone(func(resp Resp, err error) {
		b, err := encode(nil, resp, err)
		if err != nil {
			out.Reject(err)
			return
		}
		out.Resolve(b)
	})
	return out
}

// unaries are the methods UnaryMethod and UnaryMethodVT made, by funcID:
// Export looks up its methods there, so that the loop calls them through
// serve. Generated code makes each method once, when the guest starts.
var unaries = map[uintptr]made{}

// made is a method UnaryMethod or UnaryMethodVT made, and its unary. The map holding it
// keeps the method's closure on the heap, and alive, so that no other
// func value ever has its funcID.
type made struct {
	method Method
	unary  unaryServer
}

// funcID identifies the func value m: the address of the closure it
// holds. Each method methodOf makes is a closure of its own.
func funcID(m Method) uintptr { return *(*uintptr)(unsafe.Pointer(&m)) }

// served is an exported method as the loop calls it.
type served struct {
	full   string // "service/method", the key it has in eventLoop.methods
	method Method
	unary  unaryServer // the same method, when methodOf made it; nil otherwise
}

// encodeReply is a method's outcome: its reply appended to buf, or its
// error.
func encodeReply[Resp proto.Message](buf []byte, resp Resp, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	b, err := marshalAppend(buf, resp)
	if err != nil {
		return nil, &Error{Code: CodeInternal, Message: "encoding reply: " + err.Error()}
	}
	return b, nil
}

// Export makes this guest serve the proto service name (for example
// "greeting.v1.Greeting") with the given methods. Generated Init functions
// call it. If impl implements Readier, Run calls its Ready method once before
// the guest is reported ready. A service the manifest does not list in
// implements ends the guest with an explanation.
func Export(name string, impl any, methods map[string]Method) {
	if st := hostExport(name); st == abi.StatusShutdown {
		hostEnded()
	} else if st != abi.StatusOK {
		// The host says, beside it, what to change in parigot.hcl.
		fatalf("cannot export %s: %s", name, st)
	}
	loop.export(name, impl, methods)
}

// export adds the service name, and its methods, to what l serves.
func (l *eventLoop) export(name string, impl any, methods map[string]Method) {
	l.services[name] = &exported{name: name, impl: impl}
	for method, m := range methods {
		full := name + "/" + method
		l.methods[full] = served{full: full, method: m, unary: unaries[funcID(m)].unary}
	}
	l.lastServed = served{} // it may be one of those just replaced
}

// Run serves the exported services until the host stops the guest. It calls
// each service's Ready method first and tells the host the guest is ready.
func Run() {
	ctx := context.Background()
	for _, s := range loop.services {
		if r, ok := s.impl.(Readier); ok && !r.Ready(ctx) {
			fatalf("service %s: Ready returned false", s.name)
		}
	}
	if st := hostReady(); st == abi.StatusShutdown {
		hostEnded()
	} else if st != abi.StatusOK {
		fatalf("cannot report ready: %s", st)
	}
	loop.run(false)
}

// LaunchClient starts a program. The returned future succeeds on the event
// loop once MustRunClient runs it; the services the program requires are up by
// then, so its callbacks can Locate them.
func LaunchClient() *Future[struct{}] {
	f := NewFuture[struct{}]()
	loop.tasks = append(loop.tasks, func() { f.Resolve(struct{}{}) })
	return f
}

// MustRunClient runs a program's event loop until the program calls ExitSelf.
// A program left with nothing to wait for (no call in flight, no callback,
// timer or background step queued) has finished: it exits with code 0.
func MustRunClient() {
	loop.run(true)
	ExitSelf(0)
}

// ExitSelf ends the guest with the given exit code. For a program, that code
// becomes the exit code of `parigot run` when it can be passed on as it is:
// a code outside 0 to 255, or 2 or 130 (parigot's own for a command line it
// did not understand and for an interruption), makes `parigot run` exit 1
// and say what the code was.
func ExitSelf(code int) {
	hostExiting(code)
	os.Exit(code)
}

// Client is a located service: a handle that calls can be dispatched on.
type Client struct {
	service string
	handle  uint32
}

// Service returns the full proto name of the located service.
func (c Client) Service() string { return c.service }

// Locate finds the service with the given full proto name. The calling guest
// must list the service's guest in its requires in parigot.hcl.
func Locate(service string) (Client, error) {
	h, st := hostLocate(service)
	switch st {
	case abi.StatusOK:
		return Client{service: service, handle: h}, nil
	case abi.StatusNotRequired:
		// The fix is the host's, which knows which service implements it
		// and which guest this is: the line it says beside, word for word.
		// Asked only now, so that a locate that succeeds costs nothing more.
		fix := hostLocateFix(service)
		if fix == "" {
			fix = "cannot locate " + service + ": add the service that implements it to this guest's requires in parigot.hcl"
		}
		return Client{}, errors.New("parigot: " + fix)
	case abi.StatusNotFound:
		return Client{}, fmt.Errorf("parigot: cannot locate %s: no service in parigot.hcl implements it", service)
	}
	return Client{}, statusError("locate "+service, st)
}

// Invoke dispatches method on the located service with req and returns a
// future of the reply, decoded into resp. Generated client stubs call it.
// Like UnaryMethod, it uses a message's fast marshalling methods when it has
// them.
func Invoke[Resp proto.Message](c Client, method string, req proto.Message, resp Resp) *Future[Resp] {
	full := loop.fullName(c.service, method)
	call := &invocation[Resp]{method: full, resp: resp}
	// The host copies the request during dispatch, so one buffer serves
	// every call.
	in, err := marshalAppend(loop.send[:0], req)
	if e := loop.dispatch(c, full, in, err, call); e != nil {
		call.Reject(e)
	}
	return &call.Future
}

// RequestBuffer returns n bytes for a generated client stub to encode a
// request into, before it passes them to CallEncoded. They are the loop's
// own buffer, which every call reuses (the host copies a request when it
// is dispatched), so they are good until the next call.
func RequestBuffer(n int) []byte { return slices.Grow(loop.send[:0], n)[:n] }

// CallEncoded dispatches method on the located service c, with a request
// that a generated client stub encoded into RequestBuffer with the fast
// marshalling methods codegen generates (or failed to encode, with
// encodeErr), and returns the future of the reply, decoded with the same
// methods into a message made with the call, in the same allocation. Its
// first type argument is the reply's message type:
//
//	b := guest.RequestBuffer(req.SizeVT())
//	_, err := req.MarshalToSizedBufferVT(b)
//	return guest.CallEncoded[pb.Book](c.c, "GetBook", b, err)
//
// The stub encodes the request itself, with the methods of its own type,
// so that the request stays on its caller's stack: called through a type
// parameter or an interface, they would move it to the heap, an
// allocation per call inside wasm (docs/BENCHMARKS.md, "A request that
// stays on the stack").
func CallEncoded[RespT any, Resp vtDecodable[RespT]](c Client, method string, req []byte, encodeErr error) *Future[Resp] {
	full := loop.fullName(c.service, method)
	call := newInvocationVT[RespT, Resp](full)
	if e := loop.dispatch(c, full, req, encodeErr, call); e != nil {
		call.Reject(e)
	}
	return &call.Future
}

// invocationVT is the call CallEncoded makes, with its reply message: one
// allocation inside wasm, where a message made apart would be a second
// (about 140 ns each there; docs/BENCHMARKS.md). It is invocationAs
// without the conversion, on purpose: a function returning its argument,
// made inside the generic CallEncoded, would be an allocation at every
// call (TestACallEncodedCallIsOneAllocation).
type invocationVT[RespT any, Resp vtDecodable[RespT]] struct {
	invocation[Resp]
	msg RespT
	buf [holdSize]byte // a small reply, which msg is decoded from (see place)
}

// newInvocationVT is a call of method whose reply is decoded into its own
// message.
func newInvocationVT[RespT any, Resp vtDecodable[RespT]](method string) *invocationVT[RespT, Resp] {
	call := &invocationVT[RespT, Resp]{}
	call.method, call.resp = method, Resp(&call.msg)
	return call
}

func (c *invocationVT[RespT, Resp]) read(ev *abi.Event) {
	if ev.Code != abi.CodeOK {
		c.Reject(replyError(c.method, ev.Code, ev.Payload))
		return
	}
	b, held := heldReply(&c.buf, ev.Payload)
	if err := decode(c.resp, b, held); err != nil {
		c.Reject(&Error{Code: CodeInternal, Method: c.method, Message: "decoding reply: " + err.Error()})
		return
	}
	c.Resolve(c.resp)
}

// CallEncodedAs is CallEncoded for a method whose reply is a well-known
// type returned as it is (see UnaryMethodAs): respFast gives the reply
// message as the type with vtprotobuf's fast methods, which decode it.
// Generated stubs use it for those methods, with a request encoded as
// CallEncoded's is (converted first when it is a well-known type too):
//
//	fast := (*vtemptypb.Empty)(req)
//	b := guest.RequestBuffer(fast.SizeVT())
//	_, err := fast.MarshalToSizedBufferVT(b)
//	return guest.CallEncodedAs(c.c, "Ping", b, err,
//		func(m *emptypb.Empty) *vtemptypb.Empty { return (*vtemptypb.Empty)(m) })
func CallEncodedAs[RespT any, Resp message[RespT], RespFast aliasDecoder](c Client, method string, req []byte, encodeErr error, respFast func(Resp) RespFast) *Future[Resp] {
	full := loop.fullName(c.service, method)
	call := newInvocationAs(full, respFast)
	if e := loop.dispatch(c, full, req, encodeErr, call); e != nil {
		call.Reject(e)
	}
	return &call.Future
}

// invocationAs is the call CallEncodedAs makes, with its reply message, in
// one allocation.
type invocationAs[RespT any, Resp message[RespT], RespFast aliasDecoder] struct {
	invocation[Resp]
	msg  RespT
	fast func(Resp) RespFast
	buf  [holdSize]byte // a small reply, which msg is decoded from (see place)
}

// newInvocationAs is a call of method whose reply is decoded into its own
// message, as fast gives it.
func newInvocationAs[RespT any, Resp message[RespT], RespFast aliasDecoder](method string, fast func(Resp) RespFast) *invocationAs[RespT, Resp, RespFast] {
	call := &invocationAs[RespT, Resp, RespFast]{fast: fast}
	call.method, call.resp = method, Resp(&call.msg)
	return call
}

func (c *invocationAs[RespT, Resp, RespFast]) read(ev *abi.Event) {
	if ev.Code != abi.CodeOK {
		c.Reject(replyError(c.method, ev.Code, ev.Payload))
		return
	}
	b, held := heldReply(&c.buf, ev.Payload)
	if err := decode(c.fast(c.resp), b, held); err != nil {
		c.Reject(&Error{Code: CodeInternal, Method: c.method, Message: "decoding reply: " + err.Error()})
		return
	}
	c.Resolve(c.resp)
}

// dispatch sends the request in, encoded (or not, with encodeErr), as a
// call of full on c, whose reply done reads; the error to fail the call
// with when it cannot be sent.
func (l *eventLoop) dispatch(c Client, full string, in []byte, encodeErr error, done replyReader) *Error {
	if cap(in) <= keptBuffer {
		l.send = in[:0]
	} else {
		l.letGoOfLarge()
	}
	if encodeErr != nil {
		return &Error{Code: CodeInvalidArgument, Method: full, Message: "encoding request: " + encodeErr.Error()}
	}
	id, st := hostDispatch(c.handle, full, in, l.deadline)
	if st != abi.StatusOK {
		code := CodeInternal
		msg := st.String()
		switch st {
		case abi.StatusTooLarge:
			code = CodeResourceExhausted
			msg = fmt.Sprintf("request of %d bytes is larger than the %d-byte limit", len(in), abi.MaxPayload)
		case abi.StatusShutdown:
			code = CodeUnavailable
		case abi.StatusTooManyCalls:
			code = CodeResourceExhausted
			msg = fmt.Sprintf("this guest already has %d calls awaiting replies; wait for some before dispatching more", abi.MaxInFlight)
		}
		return &Error{Code: code, Method: full, Message: msg}
	}
	l.pending.add(id, pendingCall{deadline: l.deadline, done: done})
	return nil
}

type methodKey struct{ service, method string }

// fullName returns "service/method" without building the string again for
// every call.
func (l *eventLoop) fullName(service, method string) string {
	if l.last.full != "" && same(service, l.last.key.service) && same(method, l.last.key.method) {
		return l.last.full // no hashing of the two strings
	}
	k := methodKey{service, method}
	if s, ok := l.names[k]; ok {
		l.last.key, l.last.full = k, s
		return s
	}
	s := service + "/" + method
	if l.names == nil {
		l.names = make(map[methodKey]string)
	}
	if len(l.names) < 4096 {
		l.names[k] = s
	}
	l.last.key, l.last.full = k, s
	return s
}

// same reports whether a and b are the same string in memory, which
// makes them equal without comparing their bytes.
func same(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}

func (l *eventLoop) run(client bool) {
	ctx := context.Background()
	if l.buf == nil {
		l.buf = make([]byte, pollBuffer)
	}
	for {
		for len(l.tasks) > 0 {
			t := l.tasks[0]
			l.tasks = l.tasks[1:]
			t()
		}
		// The clock is a host call: read it only when a timer needs it.
		var now time.Time
		if len(l.timers) > 0 {
			now = time.Now()
			l.runDue(now)
		}
		if len(l.tasks) > 0 {
			continue
		}
		if client && l.pending.len() == 0 && len(l.timers) == 0 && len(l.background) == 0 {
			return
		}
		n, st := hostPoll(l.pollTimeout(now), l.buf)
		switch st {
		case abi.StatusOK:
		case abi.StatusBufferTooSmall:
			l.buf = make([]byte, n)
			continue
		case abi.StatusShutdown:
			return
		case abi.StatusTimeout:
			l.runBackground()
			continue
		default:
			fatalf("reading the next event: %s", st)
		}
		// The method name is looked up, never kept: it may stay in l.buf.
		ev := &l.ev
		if err := ev.DecodeBorrowed(l.buf[:n]); err != nil {
			fatalf("reading the next event: %v", err)
		}
		switch ev.Kind {
		case abi.KindReply:
			// The host completes each call once: a reply to none in
			// flight has nothing to do.
			if call, ok := l.pending.take(ev.CallID); ok {
				prev := l.deadline // as under does, without its closure
				l.deadline = call.deadline
				call.done.read(ev)
				l.deadline = prev
			}
		case abi.KindCall:
			l.serve(ctx, ev)
		case abi.KindShutdown:
			return
		}
		if n > keptBuffer {
			l.ev = abi.Event{} // it borrows from the buffer letGoOfLarge may drop
			l.letGoOfLarge()
		}
	}
}

// letGoOfLarge lets go of what the loop holds that may keep a large
// message alive (one of more than keptBuffer bytes, a request or a reply,
// going in or out), once the message has passed: the block of completed
// futures, and the poll buffer when it grew past keptPollBuffer to take
// the message.
//
// A future Resolved hands out holds its value until its whole block is
// garbage (see completed), and the loop holds the block until it has
// handed all of it out. A method's reply is such a value, most often: a
// service answering 64 calls in a row with a new 3 MB message each kept
// them all, 192 MB that nothing else kept, and a service with a 64 MiB
// memory_limit ran out of memory at its 19th call. A block dropped is
// only garbage, which the collector takes back under the guest's limit:
// the next Resolved starts a new one. The loop keeps the values of 64
// small replies at most this way, messages of keptBuffer bytes or less.
//
// A poll buffer grown for a large message would keep its size for the
// rest of the run, up to the largest payload a call may carry; past
// keptPollBuffer it is dropped after its message, and the next large
// message costs one more poll (the host says how large it is).
//
// A small call pays one comparison of its event's size for it; the other
// callers are on the branch a large buffer takes anyway.
func (l *eventLoop) letGoOfLarge() {
	l.futures = nil
	if len(l.buf) > keptPollBuffer {
		l.buf = make([]byte, pollBuffer)
	}
}

const (
	// keptBuffer is the size of the largest request and reply buffers
	// the loop keeps for the next call, and the size of a message past
	// which the loop lets go of what may keep it (see letGoOfLarge).
	keptBuffer = 64 << 10
	// pollBuffer is the poll buffer's size, until an event needs more.
	pollBuffer = 64 << 10
	// keptPollBuffer is the size of the largest poll buffer the loop
	// keeps once its event is handled: a buffer grown for a payload of
	// keptBuffer bytes (with a call's name and the event's header, a
	// little more) is kept, so that such calls cost one poll each.
	keptPollBuffer = 1 << 20
)

func (l *eventLoop) serve(ctx context.Context, ev *abi.Event) {
	id := ev.CallID
	m, ok := l.lastServed, l.lastServed.full != "" && ev.Method == l.lastServed.full
	if !ok {
		if m, ok = l.methods[ev.Method]; ok {
			l.lastServed = m
		}
	}
	if !ok {
		svcName, method, _ := strings.Cut(ev.Method, "/")
		msg := "this guest does not serve " + svcName
		if l.services[svcName] != nil {
			// The stubs make a service implement every method of its
			// .proto, so its caller was built from another .proto: on
			// another machine, from other sources.
			msg = svcName + " has no method " + method + " in this build of the service: its caller was built from a .proto that declares it; build every machine of the app from the same sources"
		}
		hostReply(id, abi.CodeUnimplemented, abi.EncodeError(abi.CodeUnimplemented, msg))
		return
	}
	if h := ev.Header(); ev.Deadline != 0 || h != nil {
		ctx = l.callContext(ctx, ev.Deadline, h)
	}
	// The method runs under the call's deadline. (Not through under: its
	// closure would cost an allocation on every call. A method that
	// panics ends the guest, so there is nothing to restore then.)
	prev := l.deadline
	l.deadline = ev.Deadline
	if m.unary != nil {
		out, later, err := m.unary.serve(ctx, ev.Payload, l.reply[:0])
		l.deadline = prev
		if later == nil { // answered at once: out is in l.reply, which the host copies
			sendReply(id, out, err)
			if cap(out) <= keptBuffer {
				l.reply = out[:0]
			} else {
				l.letGoOfLarge()
			}
			return
		}
		later.whenDone(func(out []byte, err error) { l.sendLater(id, out, err) })
		return
	}
	reply := m.method(ctx, ev.Payload)
	l.deadline = prev
	if reply.done { // most methods answer at once: no callback to make
		sendReply(id, reply.value, reply.err)
		return
	}
	reply.whenDone(func(out []byte, err error) { l.sendLater(id, out, err) })
}

// sendLater is sendReply for a method that answered later.
func (l *eventLoop) sendLater(id uint64, out []byte, err error) {
	sendReply(id, out, err)
	if len(out) > keptBuffer {
		l.letGoOfLarge()
	}
}

// sendReply answers the call id with out, or with err when it is not nil.
func sendReply(id uint64, out []byte, err error) {
	if err != nil {
		code, payload := errorPayload(err)
		hostReply(id, code, payload)
		return
	}
	if st := hostReply(id, abi.CodeOK, out); st == abi.StatusTooLarge {
		hostReply(id, abi.CodeResourceExhausted, abi.EncodeError(abi.CodeResourceExhausted,
			fmt.Sprintf("reply of %d bytes is larger than the %d-byte limit", len(out), abi.MaxPayload)))
	}
}

// hostEnded ends a guest whose host is stopping it, or went away (a run
// interrupted while the guest waited in the debugger), before it could
// serve: the run is over, so there is nothing to say, and no one to hear
// an exit code. It exits as the event loop does when the host stops it.
func hostEnded() { os.Exit(0) }

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "parigot: "+format+"\n", args...)
	os.Exit(1)
}

// callContext is the context of a method: the call's deadline, which is the
// earlier of now + the service's budget and its caller's own deadline.
// Deadline reports it; Done never fires, since a guest runs one thing at a
// time and a method must return within its budget anyway. It holds the
// request headers a gateway passed on too, which Header reads.
type callContext struct {
	context.Context
	deadline int64 // Unix nanoseconds: made a time.Time only when asked for; 0: none
}

func (c *callContext) Deadline() (time.Time, bool) {
	if c.deadline == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, c.deadline), true
}

// headerContext is the context of a method whose call carries request
// headers from a gateway, which Header reads: a type of its own, so that
// the context of every other call stays as small as it was (it is made
// on every call).
type headerContext struct {
	callContext
	header string // the call's header (abi.AppendHeader's encoding), copied out of the poll buffer
}

func (c *headerContext) Value(key any) any {
	if key == (headerKey{}) {
		return c.header
	}
	return c.Context.Value(key)
}

// callContext is the context of a call with the given deadline (Unix
// nanoseconds; 0: none) and header (borrowed: it is copied), under parent.
func (l *eventLoop) callContext(parent context.Context, deadline int64, header []byte) context.Context {
	if len(header) > 0 {
		return &headerContext{callContext{Context: parent, deadline: deadline}, string(header)}
	}
	c := fromBlock(&l.ctxs)
	*c = callContext{Context: parent, deadline: deadline}
	return c
}

// fromBlock returns the next zeroed value of *block, which it refills
// with blockSize of them when it is empty: values that a call would
// otherwise allocate one by one (a method's context, its completed
// future), one allocation for many. A value that is kept keeps its whole
// block alive, so only values that are seldom kept come from blocks.
func fromBlock[T any](block *[]T) *T {
	if len(*block) == 0 {
		*block = make([]T, blockSize)
	}
	v := &(*block)[0]
	*block = (*block)[1:]
	return v
}

// blockSize is how many values fromBlock makes at a time.
const blockSize = 64
