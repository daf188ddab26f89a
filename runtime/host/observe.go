package host

import (
	"sync/atomic"
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
)

// The host's hooks into package observe. Each is reached only behind a
// check that the run has metrics (run.obs, or a timestamp only set when it
// has), so that a run without them pays one nil check per call.

// observeCall records the call t, answered with code.
func (in *instance) observeCall(t replyTarget, code abi.Code) {
	now := time.Now().UnixNano()
	in.run.obs.Call(in.spec.Name, t.method, code.String(), t.caller.GuestName(), time.Duration(t.drained-t.pushed), time.Duration(now-t.drained))
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
