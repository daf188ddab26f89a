package apptest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/runtime/gateway"
	"parigot.dev/parigot/runtime/internal/native"
	"parigot.dev/parigot/runtime/split"
)

// Gateway starts the app's gateway name, as `parigot run` serves it but on
// a free port of 127.0.0.1, and returns its URL ("http://127.0.0.1:port").
// Its calls take the path they take under `parigot run` in the app's mode:
// in memory in single mode; in split mode, as the gateway's own identity,
// over the direct connections it makes to the services once they are
// ready, as `parigot run --mode=split` serves its gateways
// (gateway.ServeSplit, which waits for them). It stops when the test ends,
// before the services.
func (a *App) Gateway(t testing.TB, name string) string {
	t.Helper()
	var spec *gateway.Spec
	for i := range a.gateways {
		if a.gateways[i].Name == name {
			spec = &a.gateways[i]
		}
	}
	if spec == nil {
		t.Fatalf("apptest: %s has no gateway named %q", a.app.Name, name)
	}
	g := *spec
	g.Listen = "127.0.0.1:0"
	schema, err := gateway.LoadSchema(builder.DescriptorsPath(a.app))
	if err != nil {
		t.Fatalf("apptest: gateway %s: %v", name, err)
	}
	out := a.logs.prefixed("gateway " + name)
	log := slog.New(slog.NewTextHandler(out, nil))
	if a.mode == Split {
		url, err := a.splitGateway(t, g, schema, log, out)
		if err != nil {
			t.Fatalf("apptest: gateway %s: %v", name, err)
		}
		return url
	}
	srv, err := gateway.Start(g, schema, a.reg, native.NewCaller(gateway.NativeIdentity), log)
	if err != nil {
		t.Fatalf("apptest: gateway %s: %v", name, err)
	}
	t.Cleanup(srv.Stop) // registered after Start's: runs before the services stop
	return srv.URL()
}

// splitGateway serves g as `parigot run --mode=split` does
// (gateway.ServeSplit): with a NATS connection of the gateway's own
// identity, once the services it calls are ready (not waiting for one
// down for good), and its URL once it serves. What it says of its wait
// goes to out. It stops when the test ends, before the services; a
// failure while it serves fails the test at its end.
func (a *App) splitGateway(t testing.TB, g gateway.Spec, schema *gateway.Schema, log *slog.Logger, out io.Writer) (string, error) {
	listening := make(chan string, 1)
	serve := gateway.ServeSplit(gateway.SplitOptions{
		App: a.app.Name, Guests: a.guests, Gateways: []gateway.Spec{g}, Schema: schema, Logger: log,
		Listening: func(_, url string) { listening <- url },
		Waiting: func(gw, service string, elsewhere bool) {
			fmt.Fprintf(out, "parigot: gateway %s %s\n", gw, split.WaitingFor(service, elsewhere))
		},
		NotWaiting: func(gw, service string) {
			fmt.Fprintf(out, "parigot: gateway %s %s\n", gw, split.NotWaitingFor(service))
		},
	})
	ctx, stop := context.WithCancel(a.ctx)
	ended := make(chan error, 1)
	go func() { ended <- serve(ctx, a.server.Connector(), a.downs.Down) }()
	select {
	case url := <-listening:
		t.Cleanup(func() { // registered after Start's: runs before the services stop
			stop()
			if err := <-ended; err != nil {
				a.mu.Lock()
				a.problems = append(a.problems, fmt.Sprintf("gateway %s: %v", g.Name, err))
				a.mu.Unlock()
			}
		})
		return url, nil
	case err := <-ended:
		stop()
		if err == nil {
			err = fmt.Errorf("it stopped before it served")
		}
		return "", err
	}
}
