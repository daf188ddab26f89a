// Package abi is the contract between a guest and the host: the names of the
// host functions, the status and error codes they return, and the binary
// layout of the events a guest reads with poll.
//
// Both sides import it, so it must compile for wasip1 and natively and must not
// import anything beyond the standard library.
package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// HostModule is the wasm import module name of every parigot host function.
const HostModule = "parigot"

// Host function names (//go:wasmimport parigot <name>).
const (
	FuncExport   = "export"   // (namePtr, nameLen i32) -> status
	FuncReady    = "ready"    // () -> status
	FuncLocate   = "locate"   // (namePtr, nameLen, handleOut i32) -> status; with LocateFix in nameLen, the fix to parigot.hcl for a service not required
	FuncDispatch = "dispatch" // (handle, methodPtr, methodLen, reqPtr, reqLen, callIDOut i32, deadline i64) -> status
	FuncPoll     = "poll"     // (timeoutNanos i64, bufPtr, bufCap, sizeOut i32) -> status
	FuncReply    = "reply"    // (callID i64, code, payloadPtr, payloadLen i32) -> status
	FuncOpen     = "open"     // (kind, namePtr, nameLen, handleOut i32) -> status: a store, topic or http endpoint, as a handle for dispatch; a store's declared value type too, with OpenWithValue
	FuncExiting  = "exiting"  // () -> status: the guest exits through ExitSelf (its code follows, in WASI's proc_exit)
)

// LocateFix, or'd into locate's nameLen, asks for the fix to parigot.hcl
// when the service is one the guest does not require: with
// StatusNotRequired, the host writes at handleOut a fix record, the fix's
// length (u32) and then its text, cut to MaxFix bytes; the record has room
// for FixRecordSize bytes. A host from before it refuses the flag
// (StatusBadArgument, the length being too long).
const LocateFix = 1 << 31

// MaxFix bounds the text of locate's fix record; FixRecordSize is the
// record's size.
const (
	MaxFix        = 512
	FixRecordSize = 4 + MaxFix
)

// MaxPayload is the largest request or reply the host carries: 4 MiB.
const MaxPayload = 4 << 20

// MaxInFlight is the most calls one guest may have dispatched and not yet
// read the replies of. A dispatch beyond it fails with StatusTooManyCalls.
const MaxInFlight = 1 << 16

// Status is what a host function returns to the guest.
type Status uint32

const (
	StatusOK             Status = iota
	StatusBadPointer            // a pointer/length pair lies outside guest memory
	StatusTooLarge              // a payload exceeds MaxPayload
	StatusNotFound              // no service with that name in the app
	StatusNotRequired           // the caller's manifest entry does not require that service
	StatusBadHandle             // unknown service handle
	StatusUnknownCall           // reply to a call id the guest was never given
	StatusShutdown              // the host is stopping this guest
	StatusBufferTooSmall        // poll: the event needs a bigger buffer (size written to sizeOut)
	StatusTimeout               // poll: no event within the timeout
	StatusNotImplemented        // export: the manifest does not list that service in implements
	StatusBadArgument           // any other malformed argument
	StatusNoHost                // native build: there is no host
	StatusTooManyCalls          // dispatch: the guest already has MaxInFlight calls awaiting replies
	StatusNotUsed               // open: the caller's manifest entry does not list that store, topic or http endpoint in uses
)

var statusText = [...]string{
	StatusOK:             "ok",
	StatusBadPointer:     "pointer outside guest memory",
	StatusTooLarge:       "payload larger than 4 MiB",
	StatusNotFound:       "no such service",
	StatusNotRequired:    "service not listed in requires",
	StatusBadHandle:      "unknown service handle",
	StatusUnknownCall:    "unknown call id",
	StatusShutdown:       "host is shutting down",
	StatusBufferTooSmall: "buffer too small",
	StatusTimeout:        "timeout",
	StatusNotImplemented: "service not listed in implements",
	StatusBadArgument:    "bad argument",
	StatusNoHost:         "not running under a parigot host",
	StatusTooManyCalls:   "too many calls in flight",
	StatusNotUsed:        "store, topic or http endpoint not listed in uses",
}

func (s Status) String() string {
	if int(s) < len(statusText) {
		return statusText[s]
	}
	return fmt.Sprintf("status %d", uint32(s))
}

// Code says how a call completed. The codes are gRPC's canonical status
// codes, with the same numbers, so that a gateway maps them one to one and
// users meet the codes they know. parigot's own failures use them too:
// CodeDeadlineExceeded (no reply within the budget), CodeUnavailable (the
// service is down), CodeResourceExhausted (an inbox is full, too many calls
// in flight, or a payload over MaxPayload), CodeInvalidArgument (a request
// that cannot be decoded), CodeUnimplemented (no such method), CodeUnknown
// (a method's own error that carries no code).
type Code uint32

const (
	CodeOK                 Code = 0
	CodeCanceled           Code = 1
	CodeUnknown            Code = 2
	CodeInvalidArgument    Code = 3
	CodeDeadlineExceeded   Code = 4
	CodeNotFound           Code = 5
	CodeAlreadyExists      Code = 6
	CodePermissionDenied   Code = 7
	CodeResourceExhausted  Code = 8
	CodeFailedPrecondition Code = 9
	CodeAborted            Code = 10
	CodeOutOfRange         Code = 11
	CodeUnimplemented      Code = 12
	CodeInternal           Code = 13
	CodeUnavailable        Code = 14
	CodeDataLoss           Code = 15
	CodeUnauthenticated    Code = 16
)

// MaxCode is the largest code: a reply with a larger one is malformed.
const MaxCode = CodeUnauthenticated

var codeText = [...]string{
	CodeOK:                 "ok",
	CodeCanceled:           "canceled",
	CodeUnknown:            "unknown",
	CodeInvalidArgument:    "invalid argument",
	CodeDeadlineExceeded:   "deadline exceeded",
	CodeNotFound:           "not found",
	CodeAlreadyExists:      "already exists",
	CodePermissionDenied:   "permission denied",
	CodeResourceExhausted:  "resource exhausted",
	CodeFailedPrecondition: "failed precondition",
	CodeAborted:            "aborted",
	CodeOutOfRange:         "out of range",
	CodeUnimplemented:      "unimplemented",
	CodeInternal:           "internal",
	CodeUnavailable:        "unavailable",
	CodeDataLoss:           "data loss",
	CodeUnauthenticated:    "unauthenticated",
}

func (c Code) String() string {
	if int(c) < len(codeText) {
		return codeText[c]
	}
	return fmt.Sprintf("code %d", uint32(c))
}

// Kind is the kind of an event read by poll.
type Kind uint32

const (
	KindCall     Kind = 1 // an incoming call to one of the guest's services
	KindReply    Kind = 2 // the completion of a call the guest dispatched
	KindShutdown Kind = 3 // the host asks the guest to stop
)

// HeaderSize is the fixed size of an encoded event header (the event's
// fixed fields, not a call's request headers, which follow its payload:
// see Encode).
const HeaderSize = 32

// kindWithHeader marks, in an encoded event's kind, a call that carries
// request headers (see Encode): the events of every other call, the most
// of them, keep the fixed size they had.
const kindWithHeader = 1 << 31

// Event is one unit of work for a guest's event loop.
//
// For KindCall, Method is "package.Service/Method", Payload the request,
// and Deadline when the caller stops waiting. For KindReply, Code says how
// the call ended; Payload is the reply when Code is CodeOK and a
// google.rpc.Status otherwise (see EncodeError).
type Event struct {
	Kind   Kind
	Code   Code
	CallID uint64
	// Deadline is the call's absolute deadline, in Unix nanoseconds (0:
	// none): the earlier of now + the callee's budget and its caller's own
	// deadline, so that a chain of calls never outlives its first caller.
	Deadline int64
	Method   string
	Payload  []byte
	// header, on a call from a gateway whose block lists headers, is the
	// request headers it passes on (see Header, SetHeader); nil on every
	// other event. Behind a pointer: an event is copied through the
	// host's queues and the guest's loop on every call, and a slice here
	// made each one 24 bytes larger, which measurably slowed every call
	// (docs/BENCHMARKS.md, "Request headers at no cost to other calls").
	header *[]byte
	// Trace is host-side only: Encode leaves it out, guests never see it.
	// On a call, the span of the call it was made on behalf of (its
	// parent); on a reply, the span its call was made on behalf of, which
	// the guest then runs under again. Zero when tracing is off.
	Trace TraceContext
	// Bystander is host-side only too, on a reply that fails a call
	// because its service ended: the service had taken the call but was
	// not running it when it ended (the call waited, on a store write or
	// a call of its own, while another call, or code of no call, crashed
	// or overran). Its message is that of the call that was running; a
	// topic's subscription redelivers such a message without counting an
	// attempt (runtime/state).
	Bystander bool
	// Ended is host-side only too, on the reply that fails the call its
	// service was running when it ended (crashed, overran): that call
	// ended it. A topic's subscription says which message did
	// (runtime/state). In the padding after Bystander too.
	Ended bool
	// Abandonable is host-side only too, on a call whose caller may give
	// it up before its deadline (a gateway's client that hangs up, a
	// caller in another process that says so): before its guest takes
	// it, the host asks the caller (route.Abandoner) and drops it unrun
	// if it was. In the padding after Bystander: no event grows.
	Abandonable bool
}

// Header is the request headers a gateway passed on with a call,
// encoded as AppendHeader writes them (at most MaxHeader bytes); nil on
// every other event. A guest reads them with guest.Header; its own calls
// never carry any.
func (e *Event) Header() []byte {
	if e.header == nil {
		return nil
	}
	return *e.header
}

// SetHeader sets the request headers of a call (see Header); an empty h
// leaves it none.
func (e *Event) SetHeader(h []byte) {
	e.header = nil
	if len(h) > 0 {
		// Not &h: h would then move to the heap on every call, header or
		// not.
		p := new([]byte)
		*p = h
		e.header = p
	}
}

// Size is the number of bytes Encode writes.
func (e *Event) Size() int {
	n := HeaderSize + len(e.Method) + len(e.Payload)
	if e.header != nil {
		n += 4 + len(*e.header)
	}
	return n
}

// Encode writes e into dst, which must be at least e.Size() bytes long.
//
// Layout, little endian: kind u32, code u32, call id u64, deadline i64,
// method length u32, payload length u32, method bytes, payload bytes;
// then, for a call with request headers (the kind's top bit set), header
// length u32 and header bytes.
func (e *Event) Encode(dst []byte) {
	kind := uint32(e.Kind)
	if e.header != nil {
		kind |= kindWithHeader
	}
	binary.LittleEndian.PutUint32(dst[0:], kind)
	binary.LittleEndian.PutUint32(dst[4:], uint32(e.Code))
	binary.LittleEndian.PutUint64(dst[8:], e.CallID)
	binary.LittleEndian.PutUint64(dst[16:], uint64(e.Deadline))
	binary.LittleEndian.PutUint32(dst[24:], uint32(len(e.Method)))
	binary.LittleEndian.PutUint32(dst[28:], uint32(len(e.Payload)))
	n := HeaderSize + copy(dst[HeaderSize:], e.Method)
	n += copy(dst[n:], e.Payload)
	if e.header != nil {
		binary.LittleEndian.PutUint32(dst[n:], uint32(len(*e.header)))
		copy(dst[n+4:], *e.header)
	}
}

// ErrShortEvent reports an event buffer that does not hold what its header says.
var ErrShortEvent = errors.New("abi: event shorter than its header says")

// Decode parses an event from buf. Payload and Header alias buf.
func Decode(buf []byte) (Event, error) {
	var ev Event
	if err := ev.decode(buf); err != nil {
		return Event{}, err
	}
	if ev.Method != "" {
		ev.Method = strings.Clone(ev.Method)
	}
	return ev, nil
}

// DecodeBorrowed parses an event from buf into e, as Decode does, but
// with Method aliasing buf too: it is valid only until buf is written
// again, and must not be kept. It spares a guest's event loop, which
// reuses one buffer for every event and only looks the method up, an
// allocation per call; and it writes e field by field, where returning an
// Event cost four times as much inside wasm (79 against 19 ns).
func (e *Event) DecodeBorrowed(buf []byte) error { return e.decode(buf) }

// decode is DecodeBorrowed. On an error e is left as it was.
func (e *Event) decode(buf []byte) error {
	if len(buf) < HeaderSize {
		return ErrShortEvent
	}
	ml := uint64(binary.LittleEndian.Uint32(buf[24:]))
	pl := uint64(binary.LittleEndian.Uint32(buf[28:]))
	end := HeaderSize + ml + pl
	if uint64(len(buf)) < end {
		return ErrShortEvent
	}
	kind := binary.LittleEndian.Uint32(buf[0:])
	var header *[]byte
	if kind&kindWithHeader != 0 { // only a gateway's calls have one
		if uint64(len(buf)) < end+4 {
			return ErrShortEvent
		}
		hl := uint64(binary.LittleEndian.Uint32(buf[end:]))
		if hl == 0 || uint64(len(buf)) < end+4+hl {
			return ErrShortEvent
		}
		h := buf[end+4 : end+4+hl]
		header = &h
	}
	e.Kind = Kind(kind &^ kindWithHeader)
	e.Code = Code(binary.LittleEndian.Uint32(buf[4:]))
	e.CallID = binary.LittleEndian.Uint64(buf[8:])
	e.Deadline = int64(binary.LittleEndian.Uint64(buf[16:]))
	e.Payload = buf[HeaderSize+ml : end]
	e.header = header
	e.Method = ""
	if ml > 0 { // a reply has no method
		e.Method = unsafe.String(&buf[HeaderSize], int(ml))
	}
	e.Trace = TraceContext{}
	return nil
}
