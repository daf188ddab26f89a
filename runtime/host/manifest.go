package host

import (
	"os"
	"strconv"
	"time"

	"parigot.dev/parigot/manifest"
)

// EnvTimeoutScale names the environment variable that multiplies every
// method_timeout read from a manifest: for machines much slower than the
// ones an app is deployed on, such as a loaded CI runner. Unset, or not a
// number of at least 1: no scaling.
const EnvTimeoutScale = "PARIGOT_TIMEOUT_SCALE"

// TimeoutScale reads EnvTimeoutScale: its value when it is a number from 1
// to 1000, else fallback.
func TimeoutScale(fallback float64) float64 {
	f, err := strconv.ParseFloat(os.Getenv(EnvTimeoutScale), 64)
	if err != nil || f < 1 || f > 1000 {
		return fallback
	}
	return f
}

// GuestsFromManifest describes the app's guests for Config.Guests, in start
// order, given where each guest's wasm was built, with the budgets scaled by
// EnvTimeoutScale.
func GuestsFromManifest(app *manifest.App, wasm map[string]string) []*GuestSpec {
	return ScaledGuests(app, wasm, TimeoutScale(1))
}

// ScaledGuests is GuestsFromManifest with every method_timeout multiplied
// by scale.
func ScaledGuests(app *manifest.App, wasm map[string]string, scale float64) []*GuestSpec {
	var specs []*GuestSpec
	for _, g := range app.StartOrder() {
		kind := Service
		if g.Kind == manifest.KindProgram {
			kind = Program
		}
		timeout := g.MethodTimeout
		if timeout <= 0 {
			timeout = manifest.DefaultMethodTimeout
		}
		specs = append(specs, &GuestSpec{
			Name:          g.Name,
			Kind:          kind,
			Wasm:          wasm[g.Name],
			Implements:    g.Implements,
			Requires:      g.Requires,
			MethodTimeout: time.Duration(float64(timeout) * scale),
			Replicas:      max(g.Replicas, 1),
			MemoryLimit:   g.MemoryLimit,
			Overrun:       map[string]OverrunPolicy{manifest.OverrunReport: OverrunReport}[g.OnOverrun],
			Restart:       map[string]RestartPolicy{manifest.RestartOnFailure: RestartOnFailure}[g.Restart],
		})
	}
	return specs
}
