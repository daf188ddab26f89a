package guest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"unsafe"

	vtwrapperspb "github.com/planetscale/vtprotobuf/types/known/wrapperspb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	idv1 "parigot.dev/parigot/proto/parigot/id/v1"
	"parigot.dev/parigot/runtime/host/testdata/benchpb"
	"parigot.dev/parigot/runtime/internal/abi"
)

// makers are the two ways generated code makes a method, for one whose
// messages (idv1.Id) have the fast methods.
var makers = []struct {
	name string
	make func(func(context.Context, *idv1.Id) *Future[*idv1.Id]) Method
}{
	{"UnaryMethod", func(fn func(context.Context, *idv1.Id) *Future[*idv1.Id]) Method {
		return UnaryMethod(func() *idv1.Id { return new(idv1.Id) }, fn)
	}},
	{"UnaryMethodVT", func(fn func(context.Context, *idv1.Id) *Future[*idv1.Id]) Method {
		return UnaryMethodVT(fn)
	}},
	{"UnaryMethodAs", func(fn func(context.Context, *idv1.Id) *Future[*idv1.Id]) Method {
		self := func(m *idv1.Id) *idv1.Id { return m }
		return UnaryMethodAs(fn, self, self)
	}},
}

// bytesTwin is a BytesValue as its twin with the fast methods, as a
// generated stub converts it.
func bytesTwin(m *wrapperspb.BytesValue) *vtwrapperspb.BytesValue {
	return (*vtwrapperspb.BytesValue)(m)
}

// A method UnaryMethodAs made with a well-known type on each side, as
// stubs make one, reads and writes what protobuf-go does, and refuses a
// request that does not decode.
func TestAUnaryOfWellKnownTypesReadsAndWritesWhatProtobufDoes(t *testing.T) {
	var got *wrapperspb.BytesValue
	m := UnaryMethodAs(func(_ context.Context, req *wrapperspb.BytesValue) *Future[*wrapperspb.BytesValue] {
		got = req
		return Resolved(wrapperspb.Bytes(append(req.GetValue(), '!')))
	}, bytesTwin, bytesTwin)
	u := unaries[funcID(m)].unary
	in, _ := proto.Marshal(wrapperspb.Bytes([]byte("hi")))
	out, later, err := u.serve(context.Background(), in, nil)
	if err != nil || later != nil {
		t.Fatalf("serve: err %v, later %v; want a reply at once", err, later)
	}
	if string(got.GetValue()) != "hi" {
		t.Errorf("the method got %q, want %q", got.GetValue(), "hi")
	}
	var reply wrapperspb.BytesValue
	if err := proto.Unmarshal(out, &reply); err != nil || string(reply.GetValue()) != "hi!" {
		t.Errorf("the reply %x decodes as %q, %v; want %q", out, reply.GetValue(), err, "hi!")
	}
	_, _, err = u.serve(context.Background(), []byte{0x0a, 5, 'x'}, nil)
	if CodeOf(err) != CodeInvalidArgument {
		t.Errorf("a truncated request: %v, want invalid argument", err)
	}
}

// The loop serves a method UnaryMethod or UnaryMethodVT made through its
// unary, found by the method's funcID (see Export); a Method written by
// hand has none.
func TestTheLoopFindsTheUnaryOfAMethodUnaryMethodMade(t *testing.T) {
	byHand := Method(func(context.Context, []byte) *Future[[]byte] { return Resolved([]byte("by hand")) })
	if unaries[funcID(byHand)].unary != nil {
		t.Fatal("a method written by hand has a unary")
	}
	in, _ := proto.Marshal(&idv1.Id{High: 3, Low: 4})
	want, _ := proto.Marshal(&idv1.Id{High: 6, Low: 8})
	for _, mk := range makers {
		t.Run(mk.name, func(t *testing.T) {
			double := mk.make(func(_ context.Context, req *idv1.Id) *Future[*idv1.Id] {
				return Resolved(&idv1.Id{High: req.GetHigh() * 2, Low: req.GetLow() * 2})
			})
			u := unaries[funcID(double)].unary
			if u == nil {
				t.Fatal("no unary for the method: the loop would serve it through a future")
			}
			buf := make([]byte, 0, 64)
			out, later, err := u.serve(context.Background(), in, buf)
			if err != nil || later != nil {
				t.Fatalf("serve: err %v, later %v; want a reply at once", err, later)
			}
			if !bytes.Equal(out, want) || &out[:1][0] != &buf[:1][0] {
				t.Errorf("serve replied %x, want %x in the buffer it was given", out, want)
			}
			f := double(context.Background(), in) // called as a Method: the same reply
			if !f.Done() || !bytes.Equal(f.value, want) {
				t.Errorf("the method replied %x (done %v), want %x", f.value, f.Done(), want)
			}
		})
	}
}

func TestAUnaryAnswersLaterOrFailsAsItsMethodDoes(t *testing.T) {
	for _, mk := range makers {
		t.Run(mk.name, func(t *testing.T) {
			pending := NewFuture[*idv1.Id]()
			u := unaries[funcID(mk.make(func(context.Context, *idv1.Id) *Future[*idv1.Id] { return pending }))].unary

			out, f, err := u.serve(context.Background(), nil, nil)
			if f == nil || out != nil || err != nil {
				t.Fatalf("serve returned %x, %v, future %v; want only a future", out, err, f)
			}
			pending.Resolve(&idv1.Id{Low: 7})
			want, _ := proto.Marshal(&idv1.Id{Low: 7})
			if !f.Done() || !bytes.Equal(f.value, want) {
				t.Errorf("the future holds %x (done %v), want %x", f.value, f.Done(), want)
			}

			_, f, err = u.serve(context.Background(), []byte{0xff}, nil)
			var e *Error
			if f != nil || !errors.As(err, &e) || e.Code != CodeInvalidArgument {
				t.Errorf("a request that does not decode: %v, future %v; want invalid argument at once", err, f)
			}
		})
	}
}

// failingReplies are replies that fail the call they answer, and the code
// they fail it with, whatever its message type: an error, and bytes that
// decode as no message (a varint cut short).
var failingReplies = []struct {
	name string
	ev   abi.Event
	code Code
}{
	{"an error reply", abi.ErrorEvent(1, abi.CodeNotFound, "no such id"), CodeNotFound},
	{"a reply that does not decode", abi.Event{Kind: abi.KindReply, Code: abi.CodeOK, Payload: []byte{0xff}}, CodeInternal},
}

// The reply of a CallEncoded call is decoded with the fast methods into
// the message made with the call, in the call's one allocation; a reply
// that is an error or does not decode fails the call as Invoke's does.
func TestACallEncodedReplyIsDecodedIntoTheMessageMadeWithTheCall(t *testing.T) {
	call := func() *invocationVT[idv1.Id, *idv1.Id] {
		return newInvocationVT[idv1.Id, *idv1.Id]("a.B/C")
	}
	b, _ := proto.Marshal(&idv1.Id{High: 1, Low: 2})
	ok := call()
	ok.read(&abi.Event{Kind: abi.KindReply, Code: abi.CodeOK, Payload: b})
	if !ok.Done() || ok.err != nil || ok.value != &ok.msg || ok.value.GetHigh() != 1 || ok.value.GetLow() != 2 {
		t.Errorf("an OK reply gave %v, %v; want the decoded message, the call's own", ok.value, ok.err)
	}
	for _, tc := range failingReplies {
		f := call()
		f.read(&tc.ev)
		if CodeOf(f.err) != tc.code {
			t.Errorf("%s failed the call with %v, want code %v", tc.name, f.err, tc.code)
		}
	}
	if n := testing.AllocsPerRun(100, func() { call() }); n != 1 {
		t.Errorf("a call and its reply message take %v allocations, want 1", n)
	}
}

// The reply of a CallEncodedAs call is decoded, through its twin, into
// the message made with the call, in the call's one allocation; a reply
// that is an error or does not decode fails the call.
func TestACallEncodedAsReplyIsDecodedIntoTheMessageMadeWithTheCall(t *testing.T) {
	call := func() *invocationAs[wrapperspb.BytesValue, *wrapperspb.BytesValue, *vtwrapperspb.BytesValue] {
		return newInvocationAs("a.B/C", bytesTwin)
	}
	b, _ := proto.Marshal(wrapperspb.Bytes([]byte("reply")))
	ok := call()
	ok.read(&abi.Event{Kind: abi.KindReply, Code: abi.CodeOK, Payload: b})
	if !ok.Done() || ok.err != nil || ok.value != &ok.msg || string(ok.value.GetValue()) != "reply" {
		t.Errorf("an OK reply gave %v, %v; want the decoded message, the call's own", ok.value, ok.err)
	}
	for _, tc := range failingReplies {
		f := call()
		f.read(&tc.ev)
		if CodeOf(f.err) != tc.code {
			t.Errorf("%s failed the call with %v, want code %v", tc.name, f.err, tc.code)
		}
	}
	if n := testing.AllocsPerRun(100, func() { call() }); n != 1 {
		t.Errorf("a call and its reply message take %v allocations, want 1", n)
	}
}

// ping is a client stub as codegen generates it for a method taking and
// returning a well-known type.
func ping(c Client, req *wrapperspb.BytesValue) *Future[*wrapperspb.BytesValue] {
	fast := (*vtwrapperspb.BytesValue)(req)
	b := RequestBuffer(fast.SizeVT())
	_, err := fast.MarshalToSizedBufferVT(b)
	return CallEncodedAs(c, "Ping", b, err, bytesTwin)
}

// A stub's request of a well-known type, converted to its twin, stays on
// its caller's stack too.
func TestAStubsWellKnownRequestCostsNoAllocation(t *testing.T) {
	c := Client{service: "a.B"}
	encoded, _ := proto.Marshal(wrapperspb.Bytes([]byte("x")))
	withoutRequest := testing.AllocsPerRun(100, func() {
		CallEncodedAs(c, "Ping", encoded, nil, bytesTwin)
	})
	withRequest := testing.AllocsPerRun(100, func() {
		ping(c, &wrapperspb.BytesValue{Value: []byte("x")})
	})
	if withRequest != withoutRequest {
		t.Errorf("a stub's call takes %v allocations with the request it encodes, %v without; want the same", withRequest, withoutRequest)
	}
	if f := ping(c, wrapperspb.Bytes(nil)); !f.Done() || f.err == nil {
		t.Errorf("a call with no host: done %v, err %v; want a failed call", f.Done(), f.err)
	}
}

// A small request is decoded from a copy allocated with its message: its
// bytes cost no allocation of their own, are its own (not the loop's
// buffer), and end where they do, so that an append makes a new array. A
// large one is decoded as before, its bytes copied out.
func TestASmallRequestIsDecodedWhereItWasCopied(t *testing.T) {
	var got *benchpb.Payload
	m := UnaryMethodVT(func(_ context.Context, req *benchpb.Payload) *Future[*benchpb.Payload] {
		got = req
		return Resolved(req)
	})
	u := unaries[funcID(m)].unary
	encoded := func(n int) []byte {
		b, _ := (&benchpb.Payload{Payload: bytes.Repeat([]byte{'p'}, n)}).MarshalVT()
		return b
	}
	for _, n := range []int{100, 1000} {
		in := encoded(n)
		if _, _, err := u.serve(context.Background(), in, nil); err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		clear(in) // the loop reuses its buffer for the next event
		if !bytes.Equal(got.Payload, bytes.Repeat([]byte{'p'}, n)) {
			t.Errorf("%d bytes: the method got %q, want %d p's", n, got.Payload, n)
		}
		if len(in) <= holdSize && cap(got.Payload) != len(got.Payload) {
			t.Errorf("%d bytes: the request's bytes have capacity %d, want %d: an append would write over the rest of its buffer", n, cap(got.Payload), len(got.Payload))
		}
	}
	buf := make([]byte, 0, 2048)
	allocs := func(in []byte) float64 {
		return testing.AllocsPerRun(100, func() { u.serve(context.Background(), in, buf) })
	}
	if empty, small := allocs(encoded(0)), allocs(encoded(100)); small != empty {
		t.Errorf("serving a request of 100 bytes takes %v allocations, an empty one %v; want the same", small, empty)
	}
}

// A small reply is decoded into the call's own copy of it: reading it
// costs no allocation.
func TestASmallReplyIsDecodedWithoutAnAllocation(t *testing.T) {
	b, _ := (&benchpb.Payload{Payload: bytes.Repeat([]byte{'r'}, 100)}).MarshalVT()
	ev := abi.Event{Kind: abi.KindReply, Code: abi.CodeOK, Payload: b}
	if n := testing.AllocsPerRun(100, func() {
		newInvocationVT[benchpb.Payload, *benchpb.Payload]("a.B/C").read(&ev)
	}); n != 1 {
		t.Errorf("a call and the reading of its 100-byte reply take %v allocations, want 1", n)
	}
	call := newInvocationVT[benchpb.Payload, *benchpb.Payload]("a.B/C")
	call.read(&ev)
	clear(b)
	if p := call.value.GetPayload(); !bytes.Equal(p, bytes.Repeat([]byte{'r'}, 100)) || cap(p) != len(p) {
		t.Errorf("the reply holds %q (capacity %d), want its 100 r's, capacity as long", p, cap(p))
	}
}

// A CallEncoded call makes one allocation, the call with its reply
// message: natively it fails at dispatch, which makes the error, and
// nothing else may allocate.
func TestACallEncodedCallIsOneAllocation(t *testing.T) {
	c := Client{service: "a.B"}
	b, _ := (&idv1.Id{Low: 1}).MarshalVT()
	full := loop.fullName(c.service, "GetID")
	call := testing.AllocsPerRun(100, func() { newInvocationVT[idv1.Id, *idv1.Id](full) })
	failure := testing.AllocsPerRun(100, func() { loop.dispatch(c, full, b, nil, nil) })
	if n := testing.AllocsPerRun(100, func() { CallEncoded[idv1.Id](c, "GetID", b, nil) }); n != call+failure {
		t.Errorf("CallEncoded takes %v allocations, want %v: its call's and its failure's", n, call+failure)
	}
}

// getID is a client stub as codegen generates it for a method whose
// messages have the fast methods.
func getID(c Client, req *idv1.Id) *Future[*idv1.Id] {
	b := RequestBuffer(req.SizeVT())
	_, err := req.MarshalToSizedBufferVT(b)
	return CallEncoded[idv1.Id](c, "GetID", b, err)
}

// Natively, with no host, a CallEncoded call fails at once, as Invoke's
// does.
func TestNativelyCallEncodedFailsAtOnce(t *testing.T) {
	f := getID(Client{service: "a.B"}, &idv1.Id{Low: 1})
	if !f.Done() || f.err == nil {
		t.Errorf("a call with no host: done %v, err %v; want a failed call", f.Done(), f.err)
	}
}

// A request that a generated stub encodes stays on its caller's stack: the
// call costs no allocation for it (it cost one inside wasm while the
// request was encoded through an interface).
func TestAStubsRequestCostsNoAllocation(t *testing.T) {
	c := Client{service: "a.B"}
	encoded, _ := (&idv1.Id{Low: 1}).MarshalVT()
	withoutRequest := testing.AllocsPerRun(100, func() {
		CallEncoded[idv1.Id](c, "GetID", encoded, nil)
	})
	withRequest := testing.AllocsPerRun(100, func() {
		getID(c, &idv1.Id{Low: 1})
	})
	if withRequest != withoutRequest {
		t.Errorf("a stub's call takes %v allocations with the request it encodes, %v without; want the same", withRequest, withoutRequest)
	}
}

// fullName names each pair it is given, whether the strings are the ones
// of its last call, equal ones elsewhere in memory, or others.
func TestFullNameNamesEveryPair(t *testing.T) {
	var l eventLoop
	svc, m := "a.B", "C"
	dyn := string([]byte("a.B")) // equal, elsewhere in memory
	for _, tc := range []struct{ service, method, want string }{
		{"", "", "/"},
		{svc, m, "a.B/C"},
		{svc, m, "a.B/C"},
		{dyn, m, "a.B/C"},
		{svc, "D", "a.B/D"},
		{"x.Y", m, "x.Y/C"},
		{svc, m, "a.B/C"},
	} {
		if got := l.fullName(tc.service, tc.method); got != tc.want {
			t.Errorf("fullName(%q, %q) = %q, want %q", tc.service, tc.method, got, tc.want)
		}
	}
}

// The calls in flight are found by id however many there are: in the
// slice, in the map past fewInFlight, and in the slice again once the map
// has emptied.
func TestCallsInFlightAreFoundByID(t *testing.T) {
	var f inFlight
	check := func(what string, ids ...uint64) {
		t.Helper()
		for _, id := range ids {
			c, ok := f.take(id)
			if !ok || c.deadline != int64(id) {
				t.Fatalf("%s: call %d taken as %+v, %v", what, id, c, ok)
			}
			if _, again := f.take(id); again {
				t.Fatalf("%s: call %d taken twice", what, id)
			}
		}
	}
	add := func(from, to uint64) {
		for id := from; id <= to; id++ {
			f.add(id, pendingCall{deadline: int64(id)})
		}
	}
	add(1, 5)
	check("a few", 3, 1, 5)
	add(6, 3*fewInFlight)
	if f.many == nil {
		t.Fatalf("%d calls in flight and no map", f.len())
	}
	check("many", 2, 4, 40, 6)
	for id := uint64(7); id <= 3*fewInFlight; id++ {
		if id != 40 {
			check("the rest", id)
		}
	}
	if f.len() != 0 || f.many != nil {
		t.Fatalf("%d calls left, map %v: want none, and the slice again", f.len(), f.many)
	}
	add(100, 101)
	check("a few again", 101, 100)
	if _, ok := f.take(7); ok {
		t.Error("a call not in flight was taken")
	}
}

// The loop runs the method each call names, whichever it ran before, and
// the one that replaced it once a service is exported again. The name an
// event carries is borrowed from the poll buffer, which the next poll
// overwrites: the loop must not keep it to recognise the next call by.
func TestTheLoopRunsTheMethodEachCallNames(t *testing.T) {
	l := eventLoop{services: map[string]*exported{}, methods: map[string]served{}}
	var ran []string
	method := func(tag string) Method {
		return func(_ context.Context, req []byte) *Future[[]byte] {
			ran = append(ran, tag)
			return Resolved(req)
		}
	}
	l.export("test.Svc", nil, map[string]Method{"A": method("A"), "B": method("B")})
	buf := make([]byte, len("test.Svc/A"))
	call := func(name string) {
		copy(buf, name) // as a poll writes the next event over the last
		l.serve(context.Background(), &abi.Event{Kind: abi.KindCall, CallID: 1, Method: unsafe.String(&buf[0], len(buf))})
	}
	for _, name := range []string{"A", "A", "B", "A", "B", "B", "A"} {
		call("test.Svc/" + name)
	}
	l.export("test.Svc", nil, map[string]Method{"A": method("new A")})
	call("test.Svc/A")
	want := []string{"A", "A", "B", "A", "B", "B", "A", "new A"}
	if !slices.Equal(ran, want) {
		t.Errorf("the loop ran %q, want %q", ran, want)
	}
}

// A method that fails with an error whose code is OK, or none of the codes,
// fails its call with CodeUnknown: it never reaches the caller as a
// success, or with a code no caller knows. Its message is kept.
func TestAFailureWithCodeOKOrNoCodeIsUnknown(t *testing.T) {
	for _, err := range []error{&Error{}, Errorf(Code(0), "ok-coded"), Errorf(Code(99), "weird"), Errorf(Code(0xffffffff), "")} {
		code, payload := errorPayload(err)
		got := replyError("s.v1.S/M", code, payload)
		var e *Error
		if code != CodeUnknown || !errors.As(error(got), &e) || e.Code != CodeUnknown || e.Message != err.(*Error).Message {
			t.Errorf("%#v fails its call with code %v, %#v; want CodeUnknown and its message", err, code, got)
		}
	}
	if code, _ := errorPayload(Errorf(CodeNotFound, "x")); code != CodeNotFound {
		t.Errorf("a code of the list became %v", code)
	}
}
