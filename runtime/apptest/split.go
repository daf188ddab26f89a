package apptest

import (
	"fmt"

	"parigot.dev/parigot/runtime/gateway"
	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/split"
	"parigot.dev/parigot/runtime/state"
)

// startSplit starts an embedded NATS server and each service (each replica)
// in a host of its own connected to it, as a `parigot run --mode=split`
// child is, only in this process, with its guest's own NATS identity; it
// returns once they are all ready. The harness has a connection of its own
// for native calls, as split.NativeCaller: it may call every service.
func (a *App) startSplit(services []*host.GuestSpec) error {
	if a.app.HasState() {
		stores, topics := state.SpecsFromManifest(a.app)
		a.splitState = &split.State{Stores: stores, Topics: topics, Ephemeral: true}
	}
	srv, err := split.StartStateServer(a.app.Name, split.WithGateways(a.guests, gateway.SplitGateways(a.gateways)), a.splitState, split.NativeCaller, split.StateClient)
	if err != nil {
		return err
	}
	a.cleanups = append(a.cleanups, srv.Shutdown)
	a.server = srv
	if err := a.openSplitState(); err != nil {
		return err
	}
	nc, err := srv.Conn(split.NativeCaller).Connect(a.app.Name, split.NativeCaller)
	if err != nil {
		return err
	}
	a.net = split.NewNetwork(nc, a.app.Name, a.guests)
	a.downs = split.NewDowns(a.guests)
	a.cleanups = append(a.cleanups, func() { a.net.Close() })

	stopped := make(chan error, 1)
	for _, s := range services {
		for _, r := range s.ReplicaNumbers() {
			label := host.ReplicaLabel(s.Name, r)
			out := a.logs.prefixed(label)
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				res, err := split.RunChild(a.ctx, split.ChildOptions{
					App: a.app.Name, Guests: a.guests, Name: s.Name, Conn: srv.Conn(s.Name), Stdout: out, Stderr: out, State: a.splitState,
				})
				a.record("service "+label, res, err)
				if a.ctx.Err() == nil { // its host gave up on it: ended for good
					a.downs.Ended(s.Name)
				}
				select {
				case stopped <- fmt.Errorf("service %s stopped before the services were all ready: %v", label, errOr(err, res)):
				default:
				}
			}()
		}
	}
	names := make([]string, len(services))
	for i, s := range services {
		names[i] = s.Name
	}
	ready := make(chan error, 1)
	go func() { ready <- a.net.WaitReady(a.ctx, names, host.DefaultReadyTimeout, nil) }()
	select {
	case err = <-ready:
	case err = <-stopped:
	}
	return err
}

// openSplitState opens the engine of the test's store and topic handles
// (Store, Topic), on a connection of the harness's own as
// split.StateClient, which may use every store and topic of the app.
func (a *App) openSplitState() error {
	if a.splitState == nil {
		return nil
	}
	nc, err := a.server.Conn(split.StateClient).Connect(a.app.Name, split.StateClient)
	if err != nil {
		return err
	}
	a.engine, err = state.Open(a.ctx, nc, state.Options{App: a.app.Name, Stores: a.splitState.Stores, Topics: a.splitState.Topics})
	if err != nil {
		nc.Close()
		return fmt.Errorf("opening the stores and topics for the test's handles: %w", err)
	}
	a.cleanups = append(a.cleanups, func() { a.engine.Close(); nc.Close() })
	return nil
}
