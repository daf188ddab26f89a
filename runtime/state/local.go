package state

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/manifest"
)

// Local is the state of an app run in one process: an embedded JetStream
// server, a connection to it and the Engine on it.
type Local struct {
	Engine *Engine
	Server *Server
	nc     *nats.Conn
}

// DataDir is where app keeps its stores and topics: dir when given
// (relative to the working directory, as a flag is), else DefaultDataDir
// in the app's directory.
func DataDir(app *manifest.App, dir string) string {
	if dir != "" {
		return dir
	}
	return filepath.Join(app.Dir, filepath.FromSlash(DefaultDataDir))
}

// StartLocal starts the state of app in this process, with its files in
// dataDir (see DataDir), or in memory when ephemeral; log, when not nil, is
// told JetStream's errors (see ServerOptions.Log). An app that declares no
// store or topic has none: StartLocal returns nil, and no server. While it
// runs, parigot state commands may join its server (ServerOptions.Live).
func StartLocal(ctx context.Context, app *manifest.App, dataDir string, ephemeral bool, log func(string)) (*Local, error) {
	if !app.HasState() {
		return nil, nil
	}
	stores, topics := SpecsFromManifest(app)
	srv, err := StartServer(ServerOptions{Dir: dataDir, Ephemeral: ephemeral, Log: log,
		Live: &LiveOptions{App: app.Name, Stores: stores, Topics: topics}})
	if err != nil {
		return nil, err
	}
	nc, err := srv.Connect("parigot " + app.Name + "/state")
	if err != nil {
		srv.Shutdown()
		return nil, fmt.Errorf("connecting to the embedded JetStream server: %w", err)
	}
	e, err := Open(ctx, nc, Options{App: app.Name, Stores: stores, Topics: topics, Memory: ephemeral, Create: true, Log: log})
	if err != nil {
		nc.Close()
		srv.Shutdown()
		return nil, fmt.Errorf("opening the stores and topics of %s in %s: %w", app.Name, dataDir, err)
	}
	return &Local{Engine: e, Server: srv, nc: nc}, nil
}

// Close stops the engine, flushes what the connection still holds, and
// stops the server. A nil Local does nothing.
func (l *Local) Close() {
	if l == nil {
		return
	}
	l.Engine.Close()
	l.nc.Flush() // acknowledgements still on their way
	l.nc.Close()
	l.Server.Shutdown()
}

// EngineOf is l's Engine, or nil for a nil Local: what host.Config.State
// takes.
func (l *Local) EngineOf() *Engine {
	if l == nil {
		return nil
	}
	return l.Engine
}
