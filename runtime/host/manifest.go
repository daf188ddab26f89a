package host

import "parigot.dev/parigot/manifest"

// GuestsFromManifest describes the app's guests for Config.Guests, in start
// order, given where each guest's wasm was built.
func GuestsFromManifest(app *manifest.App, wasm map[string]string) []*GuestSpec {
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
			MethodTimeout: timeout,
			Replicas:      max(g.Replicas, 1),
			MemoryLimit:   g.MemoryLimit,
			Overrun:       map[string]OverrunPolicy{manifest.OverrunReport: OverrunReport}[g.OnOverrun],
			Restart:       map[string]RestartPolicy{manifest.RestartOnFailure: RestartOnFailure}[g.Restart],
		})
	}
	return specs
}
