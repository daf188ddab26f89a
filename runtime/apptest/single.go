package apptest

import (
	"fmt"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/native"
)

// startSingle starts the services in one host, as `parigot run` does, and
// returns once they are all ready. The host hands each service's endpoint to
// the registry, through which native calls and programs reach it.
func (a *App) startSingle(services []*host.GuestSpec) error {
	a.reg = native.NewRegistry()
	if len(services) == 0 {
		return nil
	}
	stopped := make(chan error, 1)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		r, err := host.Run(a.ctx, host.Config{Guests: services, Stdout: a.logs, Stderr: a.logs, Remote: a.reg, State: a.state.EngineOf()})
		a.record("single-mode host", r, err)
		stopped <- fmt.Errorf("the services stopped before they were all ready: %v", errOr(err, r))
	}()
	names := make([]string, len(services))
	for i, s := range services {
		names[i] = s.Name
	}
	return a.reg.WaitReady(a.ctx, names, stopped)
}
