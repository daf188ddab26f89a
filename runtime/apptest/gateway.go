package apptest

import (
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
// in memory in single mode, over NATS as the gateway's own identity in
// split mode. It stops when the test ends, before the services.
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
	log := slog.New(slog.NewTextHandler(a.logs.prefixed("gateway "+name), nil))
	var find native.Services = a.reg
	caller := native.NewCaller(gateway.NativeIdentity)
	if a.mode == Split {
		who := split.GatewayIdentity(name)
		nc, err := a.server.Conn(who).Connect(a.app.Name, who)
		if err != nil {
			t.Fatalf("apptest: gateway %s: %v", name, err)
		}
		n := split.NewNetwork(nc, a.app.Name, a.guests, who)
		a.cleanups = append(a.cleanups, func() { n.Close() })
		find, caller = n, native.NewCaller(who)
	}
	srv, err := gateway.Start(g, schema, find, caller, log)
	if err != nil {
		t.Fatalf("apptest: gateway %s: %v", name, err)
	}
	t.Cleanup(srv.Stop) // registered after Start's: runs before the services stop
	return srv.URL()
}
