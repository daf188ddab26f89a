package host

import (
	"bytes"
	"encoding/hex"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
	"parigot.dev/parigot/runtime/observe"
)

// The host's hooks into package observe. Each is reached only behind a
// check that the run has metrics or tracing (run.obs, run.trace,
// run.observing, or a stamp set only when it has), so that a run with
// neither pays a nil check per call.

// callSeen is what the host notes of one call it observes.
type callSeen struct {
	pushed, drained int64 // Unix nanos: into the inbox, out of it
	deadline        int64 // the call's, from its caller (Unix nanos; zero for none)
	request         int   // bytes
	// Tracing on: the span of the call, and its parent's (the caller's
	// span the call was made on behalf of; invalid for a trace's first).
	span, parent abi.TraceContext
}

// seeCall notes a call as the guest drains it from its inbox, and names its
// span, a child of the span the caller made it on behalf of.
func (in *instance) seeCall(d *delivery) *callSeen {
	c := &callSeen{pushed: d.at, drained: unixNano(), deadline: d.ev.Deadline, request: len(d.ev.Payload)}
	if in.run.trace != nil {
		c.parent = d.ev.Trace
		c.span = abi.TraceContext{TraceID: c.parent.TraceID, SpanID: observe.NewSpanID(), Flags: 1}
		if !c.parent.Valid() {
			c.span.TraceID = observe.NewTraceID()
		} else {
			c.span.Flags = c.parent.Flags
		}
	}
	return c
}

// observeCall records the call t, answered with code and payload.
func (in *instance) observeCall(t replyTarget, code abi.Code, payload []byte) {
	now, size := unixNano(), len(payload)
	c := t.seen
	if in.run.obs != nil {
		in.run.obs.Call(ReplicaLabel(in.spec.Name, in.run.cfg.Replica), methodLabel(t.method, code), code.String(), t.caller.GuestName(), time.Duration(c.drained-c.pushed), time.Duration(now-c.drained))
	}
	if in.run.trace != nil {
		s := observe.CallSpan{
			Trace: c.span.TraceID, Span: c.span.SpanID, Parent: c.parent.SpanID, Sampled: c.span.Flags&1 != 0,
			Guest: ReplicaLabel(in.spec.Name, in.run.cfg.Replica), Method: t.method,
			Code: code.String(), Failed: code != abi.CodeOK, Request: c.request, Reply: size,
			Pushed: c.pushed, Drained: c.drained, Replied: now, Deadline: c.deadline,
		}
		if s.Failed {
			s.Message, s.Error = replyFailure(payload)
		}
		if tp, ok := t.caller.(route.Topic); ok {
			s.Topic = tp.Topic()
		}
		in.run.trace.Record(s)
	}
}

// replyFailure is what a failed call's span says of the error its payload
// carries: the message of its google.rpc.Status (the payload itself, when
// it is none), and the full name of its typed error, which is the message
// type of its first detail (the generated New<Error>Error puts the typed
// error there; a guest may add others after it with WithDetails). Both
// come bounded by observe.ErrorText: a guest chose them.
func replyFailure(payload []byte) (message, typed string) {
	_, msg, details, err := abi.DecodeError(payload)
	if err != nil {
		return errorText(payload), ""
	}
	if len(details) > 0 {
		typed = anyTypeName(details[0])
	}
	return observe.ErrorText(msg), typed
}

// anyTypeName is the full name of the message an encoded
// google.protobuf.Any holds: the end of its type URL (field 1,
// "type.googleapis.com/stock.v1.OutOfStock"), after its last slash; empty
// when it has none or is malformed.
func anyTypeName(b []byte) string {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ""
		}
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			url, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return ""
			}
			return errorText(url[bytes.LastIndexByte(url, '/')+1:])
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return ""
		}
		b = b[n:]
	}
	return ""
}

// errorText is observe.ErrorText of b, a guest's bytes, of which only
// enough to be cut, and marked cut, is copied when it is longer.
func errorText(b []byte) string {
	return observe.ErrorText(string(b[:min(len(b), 2*observe.MaxErrorText)]))
}

// methodLabel is the method a call is counted under in the metrics: its
// name, or UnimplementedMethod for a call answered Unimplemented, so that
// callers naming methods no service has (a bug, or a hostile guest making
// up names) cannot grow the metrics without bound.
func methodLabel(method string, code abi.Code) string {
	if code == abi.CodeUnimplemented {
		return UnimplementedMethod
	}
	return method
}

// UnimplementedMethod is the method label of the calls a service answered
// Unimplemented.
const UnimplementedMethod = "(unimplemented)"

// runsOnBehalf notes, as poll hands the guest ev (ok: there is one), on
// behalf of which call the guest runs until its next poll: the call itself,
// or the call that made the call ev replies to (the guest library runs a
// reply's callbacks under that call's deadline alike). Calls the guest
// dispatches meanwhile are children of its span. A guest's timers and
// background work run between polls that returned nothing: their calls
// start traces of their own.
func (in *instance) runsOnBehalf(ev *abi.Event, ok bool) {
	in.current = abi.TraceContext{}
	if ok {
		switch ev.Kind {
		case abi.KindCall:
			if t, ok := in.incoming[ev.CallID]; ok && t.seen != nil {
				in.current = t.seen.span
			}
		case abi.KindReply:
			in.current = ev.Trace
		}
	}
	if in.run.cfg.LogJSON || in.run.cfg.Lines != nil { // for logTag, which may run on another goroutine
		var cur *abi.TraceContext
		if in.current.Valid() {
			cur = new(in.current)
		}
		in.logTrace.Store(cur)
	}
}

// logTag tags a line of the guest's output (Config.LogJSON) with the call
// it serves, and that call's trace and span while tracing is on.
func (in *instance) logTag() (method, traceID, spanID string) {
	if in.busySince.Load() != 0 {
		if m := in.busyMethod.Load(); m != nil {
			method = *m
		}
	}
	if t := in.logTrace.Load(); t != nil {
		traceID, spanID = hex.EncodeToString(t.TraceID[:]), hex.EncodeToString(t.SpanID[:])
	}
	return method, traceID, spanID
}

// memorySeen is the size of a guest's linear memory when it last called the
// host, kept per instance for /metrics (set only with metrics on).
type memorySeen = atomic.Uint64

// watchInstances makes /metrics read every guest's inbox depth, memory
// and the calls it dropped unrun.
func (r *run) watchInstances() {
	for _, in := range r.instances {
		r.obs.Watch(ReplicaLabel(in.spec.Name, r.cfg.Replica), func() observe.Reading {
			return observe.Reading{
				Inbox: float64(in.waitingCalls.Load()), Memory: float64(in.memory.Load()),
				Expired: uint64(in.dropped.Load()), GivenUp: uint64(in.given.Load()),
			}
		})
	}
}
