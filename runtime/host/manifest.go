package host

import (
	"os"
	"slices"
	"strconv"
	"time"

	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/egress"
	"parigot.dev/parigot/runtime/state"
)

// EnvTimeoutScale names the environment variable that multiplies every
// method_timeout read from a manifest: for machines much slower than the
// ones an app is deployed on, such as a loaded CI runner. Unset, or not a
// number of at least 1: no scaling.
const EnvTimeoutScale = "PARIGOT_TIMEOUT_SCALE"

// MaxScaledTimeout is the ceiling of a method budget scaled by
// EnvTimeoutScale: a manifest allows up to manifest.MaxMethodTimeout (1h),
// and a scale up to 1000 would make that 1000h. A budget of a day already
// never expires in any run or test, and at a day the budget plus its grace
// (the budget again) stays far from time.Duration's limit of 292 years, so
// scaling saturates here instead of overflowing into a negative budget.
const MaxScaledTimeout = 24 * time.Hour

// TimeoutScale reads EnvTimeoutScale: its value when it is a number from 1
// to 1000, else fallback.
func TimeoutScale(fallback float64) float64 {
	f, err := strconv.ParseFloat(os.Getenv(EnvTimeoutScale), 64)
	if err != nil || !(f >= 1 && f <= 1000) { // NaN is neither
		return fallback
	}
	return f
}

// scaleTimeout returns budget multiplied by scale, at most MaxScaledTimeout.
// A budget that is not positive counts as manifest.DefaultMethodTimeout,
// and a scale that is not a number of at least 1 as 1, so a budget is never
// shorter than written.
func scaleTimeout(budget time.Duration, scale float64) time.Duration {
	if budget <= 0 {
		budget = manifest.DefaultMethodTimeout
	}
	if !(scale >= 1) {
		scale = 1
	}
	if f := float64(budget) * scale; f < float64(MaxScaledTimeout) {
		return time.Duration(f)
	}
	return MaxScaledTimeout
}

// GuestsFromManifest describes the app's guests for Config.Guests, in start
// order, given where each guest's wasm was built, with the budgets scaled by
// EnvTimeoutScale and each guest's environment its env and pass_env, the
// latter read from this process's environment.
func GuestsFromManifest(app *manifest.App, wasm map[string]string) []*GuestSpec {
	return ScaledGuests(app, wasm, TimeoutScale(1))
}

// ScaledGuests is GuestsFromManifest with every method_timeout multiplied
// by scale, saturating at MaxScaledTimeout.
func ScaledGuests(app *manifest.App, wasm map[string]string, scale float64) []*GuestSpec {
	var specs []*GuestSpec
	http := egress.SpecsFromManifest(app, os.LookupEnv)
	for _, g := range app.StartOrder() {
		kind := Service
		if g.Kind == manifest.KindProgram {
			kind = Program
		}
		specs = append(specs, &GuestSpec{
			Name:          g.Name,
			Kind:          kind,
			Wasm:          wasm[g.Name],
			Implements:    g.Implements,
			Requires:      g.Requires,
			MethodTimeout: scaleTimeout(g.MethodTimeout, scale),
			Replicas:      max(g.Replicas, 1),
			MemoryLimit:   g.MemoryLimit,
			InboxCalls:    g.InboxCalls,
			InboxBytes:    int(g.InboxBytes),
			Overrun:       map[string]OverrunPolicy{manifest.OverrunReport: OverrunReport}[g.OnOverrun],
			Restart:       map[string]RestartPolicy{manifest.RestartOnFailure: RestartOnFailure}[g.Restart],
			Uses:          g.Uses,
			HTTP:          http,
			Subscriptions: state.SubscriptionsFromManifest(g),
			Env:           g.Environ(os.LookupEnv),
		})
	}
	return specs
}

// Debug marks the guests of specs that native names (guest name -> path of
// its native build) to run under the debugger, serving its API on listen
// (empty: a free port): every process of the app must mark them, so that
// callers everywhere give their methods DebugBudget.
//
// The services that call a debugged guest, directly or through others,
// get DebugBudget too: their methods wait for it while it is paused, and
// with their own budgets a breakpoint in a service reached through
// another would fail the call it was set to step through.
func Debug(specs []*GuestSpec, native map[string]string, listen string) {
	waits := map[string]bool{} // the guests whose methods may wait for a debugged one
	for _, s := range specs {
		if path, ok := native[s.Name]; ok {
			s.Debug = path
			s.DebugListen = listen
			s.MethodTimeout = DebugBudget
			waits[s.Name] = true
		}
	}
	for grew := len(waits) > 0; grew; {
		grew = false
		for _, s := range specs {
			if s.Kind == Service && !waits[s.Name] && slices.ContainsFunc(s.Requires, func(r string) bool { return waits[r] }) {
				s.MethodTimeout = DebugBudget
				waits[s.Name] = true
				grew = true
			}
		}
	}
}
