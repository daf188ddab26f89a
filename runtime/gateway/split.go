package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/native"
	"parigot.dev/parigot/runtime/split"
)

// SplitOptions configures ServeSplit.
type SplitOptions struct {
	App      string            // the app's name: the root of its subjects
	Guests   []*host.GuestSpec // every guest of the app
	Gateways []Spec            // the gateways to serve here
	Schema   *Schema
	Logger   *slog.Logger
	// Listening, when set, is called with each gateway's name and URL once
	// it serves.
	Listening func(name, url string)
	// Explorer, when set, is given the dashboard's API explorer once every
	// service is ready, and nil when the serving stops. Its calls go over
	// NATS as the identity of ExplorerGateway, which split.Options.Gateways
	// must then list.
	Explorer func(http.Handler)
	// Elsewhere names the app's guests that run on other machines (split
	// mode's --only leaves them out here): a gateway waits for those
	// without limit before it serves (see split.Network.AwaitRequired).
	Elsewhere []string
	// Waiting, when set, is told that a gateway has waited a second for
	// one of its services, and whether that runs elsewhere.
	Waiting func(gateway, service string, elsewhere bool)
	// NotWaiting, when set, is told that a gateway does not wait for one
	// of its services, which is down for good: it serves without it, and
	// answers its calls with unavailable.
	NotWaiting func(gateway, service string)
	// AcrossMachines: the app's NATS server is shared with its other
	// machines (split mode's --nats), where its services may have more
	// replicas than the manifest declares, which the gateways' calls look
	// for as long as they serve (split.Network.AcrossMachines).
	AcrossMachines bool
	// Fingerprints is what this run's build made each of the app's proto
	// services from (split.Network.Built): a gateway says once that a
	// replica it finds was built from other sources.
	Fingerprints map[string]split.Fingerprint
	// Said, when set, is where the gateways' networks say what they say
	// of their own (split.Network.SayTo): a lost NATS server, a replica
	// built from other sources.
	Said io.Writer
}

// ExplorerGateway is the dashboard's explorer as split mode knows a
// gateway: a NATS identity that may call every service of guests.
func ExplorerGateway(guests []*host.GuestSpec) split.Gateway {
	g := split.Gateway{Name: ExplorerName}
	for _, s := range guests {
		if s.Kind == host.Service {
			g.Guests = append(g.Guests, s.Name)
		}
	}
	return g
}

// SplitGateways is what split.Options.Gateways takes for specs: each
// gateway's NATS identity and the guests it may call.
func SplitGateways(specs []Spec) []split.Gateway {
	out := make([]split.Gateway, len(specs))
	for i, g := range specs {
		out[i] = split.Gateway{Name: g.Name, Guests: g.Guests}
	}
	return out
}

// ServeSplit returns the Serve of split.Options: it serves each gateway of
// opts that the supervisor hosts, calling the services over NATS as the
// gateway's own identity (split.GatewayIdentity), connected by connect
// (which waits for a server given by URL that does not answer, as the
// run's children do), until ctx ends; then each
// stops accepting and finishes the requests it has (StopTimeout). A
// gateway waits for its services to be ready before it serves, but not
// for one that down reports down for good, whose calls it answers with
// unavailable, as single mode's gateways do.
func ServeSplit(opts SplitOptions) func(ctx context.Context, connect split.Connector, down func(guest string) bool) error {
	return func(ctx context.Context, connect split.Connector, down func(string) bool) error {
		log := opts.Logger
		if log == nil {
			log = slog.Default()
		}
		var servers []*Server
		var nets []*split.Network
		defer func() {
			for _, srv := range servers {
				srv.Stop()
			}
			for _, n := range nets {
				n.Close()
			}
		}()
		failed := make(chan error, 2*len(opts.Gateways))
		for _, g := range opts.Gateways {
			who := split.GatewayIdentity(g.Name)
			nc, err := connect(ctx, who, "gateway "+g.Name)
			if err != nil {
				if ctx.Err() != nil {
					return nil // stopped while it waited for the server
				}
				return fmt.Errorf("gateway %s: %w", g.Name, err)
			}
			n := split.NewNetwork(nc, opts.App, opts.Guests, who)
			if opts.AcrossMachines {
				n.AcrossMachines()
			}
			n.Built(opts.Fingerprints)
			n.SayTo(opts.Said)
			nets = append(nets, n)
			var notWaiting func(string)
			if opts.NotWaiting != nil {
				notWaiting = func(service string) { opts.NotWaiting(g.Name, service) }
			}
			n.SkipDown(down, notWaiting)
			go func() {
				select {
				case pe := <-n.Refused():
					failed <- fmt.Errorf("gateway %s: %w", g.Name, pe)
				case <-ctx.Done():
				}
			}()
			var waiting func(string, bool)
			if opts.Waiting != nil {
				waiting = func(service string, elsewhere bool) { opts.Waiting(g.Name, service, elsewhere) }
			}
			if err := n.AwaitRequired(ctx, g.Guests, opts.Elsewhere, host.DefaultReadyTimeout, waiting); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("gateway %s: %w", g.Name, err)
			}
			srv, err := Start(g, opts.Schema, n, native.NewCaller(who), log)
			if err != nil {
				return err
			}
			servers = append(servers, srv)
			go srv.watch(failed)
			if opts.Listening != nil {
				opts.Listening(g.Name, srv.URL())
			}
		}
		if opts.Explorer != nil {
			stop, err := serveExplorer(ctx, opts, connect, down, log, &nets)
			if err != nil {
				return err
			}
			defer stop()
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-failed:
			return err
		}
	}
}

// serveExplorer connects the dashboard's explorer to NATS as its own
// identity (its network joins nets, which the caller closes) and, once
// every service is ready, hands it to opts.Explorer. A service slow to be
// ready (one waiting for its debugger) only delays it: the explorer says
// the services are not serving meanwhile, and the run goes on. stop takes
// the explorer back.
func serveExplorer(ctx context.Context, opts SplitOptions, connect split.Connector, down func(string) bool, log *slog.Logger, nets *[]*split.Network) (stop func(), err error) {
	g := ExplorerGateway(opts.Guests)
	who := split.GatewayIdentity(g.Name)
	nc, err := connect(ctx, who, "the dashboard's explorer")
	if err != nil && ctx.Err() != nil {
		return func() {}, nil // stopped while it waited for the server
	}
	if err != nil {
		return nil, fmt.Errorf("the dashboard's explorer: %w", err)
	}
	n := split.NewNetwork(nc, opts.App, opts.Guests, who)
	if opts.AcrossMachines {
		n.AcrossMachines()
	}
	n.Built(opts.Fingerprints)
	n.SayTo(opts.Said)
	n.SkipDown(down, nil) // the gateways say it
	*nets = append(*nets, n)
	h, err := newExplorer(opts.Schema, opts.Guests, n, native.NewCaller(who), log)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			err := n.WaitReady(ctx, g.Guests, host.DefaultReadyTimeout, nil)
			if err == nil {
				opts.Explorer(h)
				return
			}
			if ctx.Err() != nil {
				return
			}
			log.Warn("the dashboard's explorer waits for the services to be ready", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
	return func() {
		cancel()
		<-done
		opts.Explorer(nil)
	}, nil
}
