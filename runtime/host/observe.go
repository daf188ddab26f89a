package host

import (
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/observe"
)

// The host's hooks into package observe. Each is reached only behind a
// check that the run has metrics or tracing (run.obs, run.trace,
// run.observing, or a stamp set only when it has), so that a run with
// neither pays a nil check per call.

// callSeen is what the host notes of one call it observes.
type callSeen struct {
	pushed, drained int64 // Unix nanos: into the inbox, out of it
	request         int   // bytes
	span            trace.Span
}

// seeCall notes a call as the guest drains it from its inbox, and starts
// its span, a child of the span the caller made it on behalf of.
func (in *instance) seeCall(d *delivery) *callSeen {
	now := time.Now()
	c := &callSeen{pushed: d.at, drained: now.UnixNano(), request: len(d.ev.Payload)}
	if in.run.trace != nil {
		c.span = in.run.trace.Start(spanContext(d.ev.Trace), ReplicaLabel(in.spec.Name, in.run.cfg.Replica), d.ev.Method, time.Unix(0, d.at))
	}
	return c
}

// observeCall records the call t, answered with code and a reply of size
// bytes.
func (in *instance) observeCall(t replyTarget, code abi.Code, size int) {
	now := time.Now()
	c := t.seen
	wait, took := time.Duration(c.drained-c.pushed), time.Duration(now.UnixNano()-c.drained)
	if in.run.obs != nil {
		in.run.obs.Call(in.spec.Name, t.method, code.String(), t.caller.GuestName(), wait, took)
	}
	if c.span != nil {
		observe.End(c.span, observe.CallEnd{Code: code.String(), Failed: code != abi.CodeOK, Request: c.request, Reply: size, Wait: wait, Taken: took, At: now})
	}
}

// runsOnBehalf notes, as poll hands the guest ev (ok: there is one), on
// behalf of which call the guest runs until its next poll: the call itself,
// or the call that made the call ev replies to (the guest library runs a
// reply's callbacks under that call's deadline alike). Calls the guest
// dispatches meanwhile are children of its span. A guest's timers and
// background work run between polls that returned nothing: their calls
// start traces of their own.
func (in *instance) runsOnBehalf(ev *abi.Event, ok bool) {
	in.current = abi.TraceContext{}
	if !ok {
		return
	}
	switch ev.Kind {
	case abi.KindCall:
		if t, ok := in.incoming[ev.CallID]; ok && t.seen != nil && t.seen.span != nil {
			in.current = traceContext(t.seen.span.SpanContext())
		}
	case abi.KindReply:
		in.current = ev.Trace
	}
}

func spanContext(t abi.TraceContext) trace.SpanContext {
	if !t.Valid() {
		return trace.SpanContext{}
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: t.TraceID, SpanID: t.SpanID, TraceFlags: trace.TraceFlags(t.Flags), Remote: true})
}

func traceContext(s trace.SpanContext) abi.TraceContext {
	return abi.TraceContext{TraceID: s.TraceID(), SpanID: s.SpanID(), Flags: byte(s.TraceFlags())}
}

// memorySeen is the size of a guest's linear memory when it last called the
// host, kept per instance for /metrics (set only with metrics on).
type memorySeen = atomic.Uint64

// watchInstances makes /metrics read every guest's inbox depth and memory.
func (r *run) watchInstances() {
	for _, in := range r.instances {
		r.obs.Watch(ReplicaLabel(in.spec.Name, r.cfg.Replica), func() (float64, float64) {
			return float64(in.waitingCalls.Load()), float64(in.memory.Load())
		})
	}
}
