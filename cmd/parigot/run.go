package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/internal/compcache"
	"parigot.dev/parigot/internal/tempdir"
	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/gateway"
	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/split"
	"parigot.dev/parigot/runtime/state"
)

// runFlags are the flags of parigot run.
type runFlags struct {
	mode        string
	natsURL     string
	natsUser    string
	creds       string
	seeds       string
	natsWait    time.Duration // split mode: how long to wait for --nats to answer
	only        []string
	data        string
	ephemeral   bool
	debug       []string
	debugListen string // Delve's (--debug-listen)
	gwListen    string // the gateway's
	directHost  string // split mode: this machine's address for direct TCP connections
	noBuild     bool   // run what build/ holds, built elsewhere
	observeFlags
}

func newRunCommand(stdout, stderr io.Writer) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [app-dir]",
		Short: "Build the app, then run all its services and programs",
		Long: `run builds the app in app-dir (default: the current directory) like
'parigot build', then starts its services in the order their requires give,
then its programs. It ends when the programs end, with their exit code. Each
line a guest prints is prefixed with the guest's name.

--no-build runs the guests build/ holds as they are, built by 'parigot
build' where Go is and copied here with parigot.hcl: a machine without Go
or the app's sources runs the app so. A build/ that lacks a guest, or was
built from another parigot.hcl, is refused before anything starts.

An app with a gateway block serves until it is stopped (Ctrl-C, SIGTERM):
gRPC, gRPC-Web, Connect and REST clients call the gateway's services on the
address it prints; --listen ADDR serves elsewhere. So does a run with
--dashboard, whose page calls the services from its API explorer.

Modes:
  single  every guest in this one process (the default; easiest to debug)
  split   one process per guest (per replica of a service), connected through
          NATS: an embedded server on 127.0.0.1 that gives each guest its own
          NATS user, allowed only what the guest needs; or the server or
          cluster given by --nats. Calls between processes on one machine go
          over direct Unix sockets, found through NATS and allowed what NATS
          allows; NATS carries the others

With --nats, several machines can run one app: run the same app directory on
each, with --only naming the guests each machine hosts. Each guest connects
as its own NATS user with --nats-seeds DIR, which holds the seeds that
'parigot nats-config' makes and whose users it prints for the server's
configuration. The simple fallback, one user shared by all the guests, comes
from --nats-user (user:password), --nats-creds (a credentials file), or the
environment: PARIGOT_NATS_TOKEN, PARIGOT_NATS_USER and PARIGOT_NATS_PASSWORD,
PARIGOT_NATS_CREDS. Calls between machines go through the NATS server(s),
unless --direct-host names an address of the machine that the others reach:
its services then also listen on TCP there, and callers on other machines
connect to them directly, over TLS 1.3 with the certificate and the token
each service's offer gave them through NATS. The machines and the NATS
server may start in any order: a run whose server does not answer yet waits
for it, up to --nats-wait (2m; 0: not at all), and says so.`,
		Example: `  parigot run
  parigot run ./examples/helloworld
  parigot run --mode=split ./examples/helloworld
  parigot run --no-build ./shop      # build/ made by parigot build on another machine
  parigot run --listen 127.0.0.1:9090 ./examples/bookstore    # serves until Ctrl-C

  # greeting runs natively under Delve: attach a debugger to the address printed
  parigot run --debug=greeting ./examples/helloworld

  # one app over two machines sharing a NATS cluster, each guest its own user
  # (see parigot nats-config):
  machine-a$ parigot run --mode=split --nats=nats://10.0.0.1:4222 --nats-seeds ./seeds --only=greeting
  machine-b$ parigot run --mode=split --nats=nats://10.0.0.2:4222 --nats-seeds ./seeds --only=hello

  # the same, hello calling greeting over a direct TCP connection
  machine-a$ parigot run --mode=split --nats=nats://10.0.0.1:4222 --nats-seeds ./seeds --only=greeting --direct-host 10.0.0.1`,
		Args: maxOneDir,
		RunE: func(cmd *cobra.Command, args []string) error {
			tempdir.Sweep(os.TempDir()) // what runs killed with kill -9 left
			if f.mode != "single" && f.mode != "split" {
				return unknownMode(f.mode, "single", "split")
			}
			if f.mode == "single" && (f.natsURL != "" || len(f.only) > 0 || f.seeds != "" || cmd.Flags().Changed(natsWaitFlag)) {
				return usageError{err: fmt.Errorf("--nats, --nats-seeds, --nats-wait and --only need --mode=split")}
			}
			if err := checkNATSWait(f.natsWait); err != nil {
				return err
			}
			if len(f.only) > 0 && split.ConnFromEnv(f.natsURL).URL == "" {
				// The embedded server would be this process tree's alone:
				// the guests --only leaves out could never join it, and
				// those it names would wait for them for ever.
				return usageError{err: fmt.Errorf("--only hosts part of the app here and leaves the rest to other machines, which reach it through the NATS server they share: give that server with --nats (or $%s)", split.EnvURL)}
			}
			if f.seeds != "" && split.ConnFromEnv(f.natsURL).URL == "" {
				return usageError{err: fmt.Errorf("--nats-seeds needs --nats (or $%s): the embedded NATS server makes each guest's key itself", split.EnvURL)}
			}
			if f.seeds != "" && (f.natsUser != "" || f.creds != "") {
				return usageError{err: fmt.Errorf("--nats-seeds gives each guest its own NATS user, --nats-user and --nats-creds one user for all of them: give one or the other")}
			}
			if f.directHost != "" {
				if f.mode != "split" {
					return usageError{err: fmt.Errorf("--direct-host needs --mode=split")}
				}
				if err := split.CheckDirectHost(f.directHost); err != nil {
					return usageError{err: fmt.Errorf("--direct-host %q: %w", f.directHost, err)}
				}
			}
			if f.data != "" && f.ephemeral {
				return usageError{err: fmt.Errorf("--data keeps the stores and topics in a directory, --ephemeral in memory only: give one or the other")}
			}
			if err := f.observeFlags.check(); err != nil {
				return err
			}
			for flag, addr := range map[string]string{"listen": f.gwListen, "debug-listen": f.debugListen} {
				if err := checkAddress(flag, addr); err != nil {
					return err
				}
			}
			if f.noBuild && len(f.debug) > 0 {
				return usageError{err: fmt.Errorf("--debug builds the guests it names natively, for Delve, and --no-build builds nothing: give one or the other")}
			}
			if f.debugListen != "" && len(f.debug) != 1 {
				return usageError{err: fmt.Errorf("--debug-listen gives one address: name one guest in --debug")}
			}
			if _, err := compcache.PolicyFromEnv(); err != nil {
				return err
			}
			ctx := cmd.Context()
			if len(f.debug) > 0 || len(f.only) > 0 {
				// Named guests first, before the build: a name that is no
				// guest's is the mistake to tell, whatever is installed. A
				// manifest with mistakes is left to the build, which shows
				// them.
				load := builder.Load
				if f.noBuild {
					load = builder.LoadBuilt
				}
				if app, err := load(appDir(args)); err == nil {
					if err := checkNames("debug", f.debug, app, false); err != nil {
						return err
					}
					if err := checkNames("only", f.only, app, true); err != nil {
						return err
					}
				}
			}
			if len(f.debug) > 0 {
				if _, err := exec.LookPath("dlv"); err != nil { // said before anything is built
					return fmt.Errorf("--debug runs %s natively under Delve, which is not on PATH: go install github.com/go-delve/delve/cmd/dlv@latest, and put $(go env GOPATH)/bin on PATH", strings.Join(f.debug, ", "))
				}
			}
			// parigot's own lines, the build's included: JSON records too
			// with --log-format json, as the host's own reports are.
			own := host.OwnLines(stderr, f.json())
			res, err := buildForRun(ctx, appDir(args), f.noBuild, builder.Options{Dir: appDir(args), Progress: own, Live: isTerminal(own), Debug: f.debug})
			if err != nil {
				return err
			}
			if err := builder.CheckRunEnv(res.App); err != nil {
				return err
			}
			if !f.ephemeral && (f.mode == "single" || split.ConnFromEnv(f.natsURL).URL == "") {
				if err := checkShapes(res.App, state.DataDir(res.App, f.data)); err != nil {
					return err
				}
			}
			guests := host.GuestsFromManifest(res.App, res.Wasm)
			host.Debug(guests, res.Debug, f.debugListen)
			gws, schema, err := runGateways(res.App, f.gwListen)
			if err != nil {
				return err
			}
			listening := func(name, url string) {
				fmt.Fprintf(own, "parigot: gateway %s serves %s (Ctrl-C stops the app)\n", name, url)
			}
			tracing := startTracing(nonEmpty(f.otlp), f.dashboard != "", res.App.Name, "", own)
			defer stopTracing(tracing, own)
			var dash *dashboard
			if f.dashboard != "" {
				if dash, err = startDashboard(f.dashboard, res.App, tracing, own); err != nil {
					return err
				}
				defer dash.stop()
				if schema == nil { // the explorer's, for an app without a gateway
					if schema, err = gateway.LoadSchema(builder.DescriptorsPath(res.App)); err != nil {
						return err
					}
				}
			}
			seen := observing{tracing: tracing, logJSON: f.json()}
			if dash != nil {
				seen.metrics, seen.logs = dash.metrics, dash.logs
			}
			var out host.Result
			if f.mode == "single" {
				// JetStream only for an app that declares a store or topic.
				local, serr := state.StartLocal(ctx, res.App, state.DataDir(res.App, f.data), f.ephemeral, sayTo(own))
				if serr != nil {
					return serr
				}
				defer local.Close()
				if len(gws) > 0 || dash != nil {
					// With a dashboard the services serve on after the
					// programs, for its explorer, as with a gateway.
					opts := gateway.SingleOptions{Guests: guests, Gateways: gws, Schema: schema, State: local.EngineOf(),
						Stdout: stdout, Stderr: stderr, Progress: own, Live: isTerminal(own), Listening: listening,
						Logger: host.OwnLogger(stderr, f.json()), Observe: seen.config}
					if dash != nil {
						opts.Explorer, opts.ProgramsEnded = dash.explore, dash.programsEnded
					}
					out, err = gateway.RunSingle(ctx, opts)
				} else {
					cfg := host.Config{Guests: guests, Stdout: stdout, Stderr: stderr, Progress: own, Live: isTerminal(own), State: local.EngineOf()}
					seen.config(&cfg)
					out, err = host.Run(ctx, cfg)
				}
			} else {
				conn := split.ConnFromEnv(f.natsURL)
				if f.natsUser != "" {
					conn.User, conn.Pass, _ = strings.Cut(f.natsUser, ":")
				}
				if f.creds != "" {
					conn.Creds = f.creds
				}
				gateways := gateway.SplitGateways(gws)
				serve := gateway.SplitOptions{App: res.App.Name, Guests: guests, Gateways: gws, Schema: schema,
					Listening: listening, Logger: host.OwnLogger(stderr, f.json()),
					Elsewhere: split.Elsewhere(guests, f.only),
					// A server given by URL is one the app's other
					// machines may share, as split.Options.Conn says.
					AcrossMachines: conn.URL != "",
					Fingerprints:   builtFrom(res.App),
					Said:           own,
					Waiting: func(gw, service string, elsewhere bool) {
						fmt.Fprintf(own, "parigot: gateway %s %s\n", gw, split.WaitingFor(service, elsewhere))
					},
					NotWaiting: func(gw, service string) {
						fmt.Fprintf(own, "parigot: gateway %s %s\n", gw, split.NotWaitingFor(service))
					}}
				var programsEnded func()
				var lines func([]byte)
				if dash != nil {
					dash.only(res.App, f.only)
					programsEnded, lines = dash.programsEnded, dash.logs.Add
					// The explorer calls the services as a gateway of its
					// own; with --only or --nats-seeds the user's NATS
					// users are all there is, and it is not served.
					if len(f.only) == 0 && f.seeds == "" {
						gateways = append(gateways, gateway.ExplorerGateway(guests))
						serve.Explorer = dash.explore
					}
				}
				out, err = split.Supervise(ctx, split.Options{
					ProgramsEnded: programsEnded,
					Lines:         lines,
					ServicesReady: servicesReadyHere(own, f.only),
					LogJSON:       f.json(),
					App:           res.App.Name,
					Guests:        guests,
					Only:          f.only,
					Conn:          conn,
					Seeds:         f.seeds,
					NATSWait:      f.natsWait,
					DirectHost:    f.directHost,
					ChildArgs: func(guest string) []string {
						// The very manifest this run loaded, which need
						// not be the directory's parigot.hcl.
						file := filepath.Join(res.App.Dir, filepath.Base(res.App.File))
						args := []string{"guest", file, "--name", guest}
						if len(f.debug) > 0 {
							args = append(args, "--debug", strings.Join(f.debug, ","))
						}
						if f.debugListen != "" {
							args = append(args, "--debug-listen", f.debugListen)
						}
						if f.otlp != "" {
							args = append(args, "--otlp", f.otlp)
						}
						if dash != nil { // the dashboard takes the children's spans as a collector would, and their metrics
							args = append(args, "--otlp", dash.url, "--dashboard", dash.url)
						}
						if f.json() {
							args = append(args, "--log-format", "json")
						}
						return args
					},
					Stdout:   stdout,
					Stderr:   stderr,
					State:    splitState(res.App, state.DataDir(res.App, f.data), f.ephemeral, sayTo(own)),
					Gateways: gateways,
					Serve:    gateway.ServeSplit(serve),
				})
			}
			if dash != nil && errors.Is(err, context.Canceled) && dash.ended.Load() {
				// Ctrl-C is how a run with a dashboard ends, once its
				// programs have: with their exit code, said as such.
				err = nil
				dash.interrupted(own)
			}
			if err != nil {
				return err
			}
			if dash != nil {
				dash.linger(ctx)
			}
			return runOutcome(out, own)
		},
	}
	cmd.Flags().StringVar(&f.mode, "mode", "single", "how to run the guests: single or split")
	cmd.Flags().StringVar(&f.natsURL, "nats", "", "split mode: join this NATS server or cluster (comma-separated URLs) instead of starting one")
	cmd.Flags().StringVar(&f.natsUser, "nats-user", "", "split mode: user:password for --nats, shared by every guest")
	cmd.Flags().StringVar(&f.creds, "nats-creds", "", "split mode: NATS credentials file for --nats, shared by every guest")
	cmd.Flags().StringVar(&f.seeds, "nats-seeds", "", "split mode: directory of each guest's nkey seed, <guest>.nk, for --nats (see parigot nats-config)")
	cmd.MarkFlagDirname("nats-seeds")
	declareNATSWait(cmd.Flags(), &f.natsWait, "split mode: how long to wait for a --nats server that does not answer yet, before giving up")
	cmd.Flags().StringVar(&f.data, "data", "", "where the app's stores and topics are kept (default: .parigot/data in the app's directory)")
	cmd.MarkFlagDirname("data")
	cmd.Flags().BoolVar(&f.ephemeral, "ephemeral", false, "keep the app's stores and topics in memory only: they end with the run")
	cmd.Flags().StringVar(&f.directHost, "direct-host", "", "split mode: an address of this machine (IP or host name, no port) that the app's other machines reach: each service also takes their calls over direct TCP connections there, encrypted with TLS 1.3")
	cmd.Flags().StringSliceVar(&f.only, "only", nil, "split mode: host only these guests (and gateways) in this process tree (comma-separated names)")
	cmd.Flags().StringVar(&f.gwListen, "listen", "", "the address (host:port) of the app's gateway, instead of its listen in parigot.hcl")
	cmd.Flags().BoolVar(&f.noBuild, "no-build", false, "run the guests build/ holds as they are, built on another machine and copied with it: no code generation, no go command")
	cmd.Flags().StringSliceVar(&f.debug, "debug", nil, "run these guests (comma-separated names) natively under Delve, for a debugger to attach to; their method budgets are suspended")
	f.observeFlags.declare(cmd)
	cmd.Flags().StringVar(&f.debugListen, "debug-listen", "", "the address Delve serves the --debug guest on, e.g. 127.0.0.1:2345 for an IDE's fixed configuration (default: a free port, printed)")
	return cmd
}

// buildForRun builds the app in dir for parigot run with opts, or, with
// noBuild, takes what its build directory holds (builder.Prebuilt). A
// machine without Go is told that it can run a build/ made elsewhere.
func buildForRun(ctx context.Context, dir string, noBuild bool, opts builder.Options) (*builder.Result, error) {
	if noBuild {
		return builder.Prebuilt(dir, opts.Progress)
	}
	res, err := builder.Build(ctx, opts)
	if noGo := (*builder.NoGoError)(nil); errors.As(err, &noGo) {
		return nil, fmt.Errorf("%w; or, to run the app as its build/ holds it (built by parigot build where Go is, and copied here with %s): parigot run --no-build", err, manifest.FileName)
	}
	return res, err
}

// runGateways returns the app's gateways, with listen (--listen) as the
// address of its one gateway when set, and the schema they serve from.
func runGateways(app *manifest.App, listen string) ([]gateway.Spec, *gateway.Schema, error) {
	if listen != "" && len(app.Gateways) == 0 {
		return nil, nil, usageError{err: fmt.Errorf("--listen gives the address of the app's gateway, and %s declares none (a gateway block in %s)", app.Name, manifest.FileName)}
	}
	if len(app.Gateways) == 0 {
		return nil, nil, nil
	}
	gws, err := gateway.FromManifest(app, listen) // listen is host:port: checkAddress said so before the build
	if err != nil {
		return nil, nil, usageError{err: err}
	}
	schema, err := gateway.LoadSchema(builder.DescriptorsPath(app))
	if err != nil {
		return nil, nil, err
	}
	return gws, schema, nil
}

// checkShapes refuses a run of app whose protos, as its build compiled
// them, would misread what its stores and topics in dataDir hold, and
// records them there otherwise (state.CheckShapes). Only a data
// directory keeps the record: a cluster's JetStream (--nats) has none.
func checkShapes(app *manifest.App, dataDir string) error {
	if !app.HasState() {
		return nil
	}
	b, err := os.ReadFile(builder.DescriptorsPath(app))
	if err != nil {
		return fmt.Errorf("reading the app's proto descriptors (parigot build writes them): %w", err)
	}
	return state.CheckShapes(dataDir, app, b)
}

// splitState is what split mode needs of app's stores and topics, or nil
// for an app without any (its NATS server then runs no JetStream); log,
// when not nil, is told JetStream's errors.
func splitState(app *manifest.App, dir string, ephemeral bool, log func(string)) *split.State {
	if !app.HasState() {
		return nil
	}
	stores, topics := state.SpecsFromManifest(app)
	return &split.State{Stores: stores, Topics: topics, Dir: dir, Ephemeral: ephemeral, Log: log}
}

// runOutcome reports how a run ended and turns it into parigot's exit code.
func runOutcome(out host.Result, stderr io.Writer) error {
	said := 0
	for _, f := range out.Failures {
		if f.Said { // said when it happened: a restart, a service down for good
			said++
			continue
		}
		fmt.Fprintf(stderr, "parigot: %s\n", f)
	}
	if said == len(out.Failures) && said > 0 && out.ExitCode == 0 {
		// Every failure was said during the run, long before this line:
		// the exit code is theirs.
		n := out.FailedTimes() // every failure, where the result keeps each guest's latest
		fmt.Fprintf(stderr, "parigot: the app's guests failed %d %s during the run (said above), so parigot exits with %d\n", n, plural(n, "time", "times"), exitFailure)
	}
	if out.ExitCode != 0 {
		code, why := programExit(out.ExitCode)
		switch {
		case why != "":
			fmt.Fprintf(stderr, "parigot: the app's program exited with code %d; parigot exits with %d, since %s\n", out.ExitCode, code, why)
		case len(out.Failures) == 0:
			fmt.Fprintf(stderr, "parigot: the app's program exited with code %d\n", out.ExitCode)
		}
	}
	return resultExit(out)
}

// resultExit is the exit code a run's result gives parigot: the program's
// exit code (see programExit), else exitFailure when a guest failed, else
// success.
func resultExit(out host.Result) error {
	switch {
	case out.ExitCode != 0:
		code, _ := programExit(out.ExitCode)
		return exitCode(code)
	case len(out.Failures) > 0:
		return exitCode(exitFailure)
	}
	return nil
}

// programExit is the exit code parigot ends with when the app's program
// exited with code, and, when the two differ, why. parigot passes a
// program's code on when it can do so faithfully: a process's exit status
// holds 0 to 255 (os.Exit(256) would read as success), and parigot keeps
// exitUsage and exitInterrupted to mean what docs/CLI.md says they mean.
// Any other code becomes exitFailure.
func programExit(code int) (exit int, why string) {
	switch {
	case code == exitUsage:
		return exitFailure, fmt.Sprintf("its %d means a command line it did not understand", exitUsage)
	case code == exitInterrupted:
		return exitFailure, fmt.Sprintf("its %d means it was interrupted", exitInterrupted)
	case code < 0 || code > 255:
		return exitFailure, "an exit code is a number from 0 to 255"
	}
	return code, ""
}

// newGuestCommand is the child process of split mode: it hosts one guest.
// Users do not type it; the split-mode supervisor does, and the child
// reports to it over the link the supervisor gives it (see split.RunChild),
// so the summary is printed once, by the supervisor.
func newGuestCommand(stdout, stderr io.Writer) *cobra.Command {
	var name, natsURL, listen, logFormat, dashboard string
	var otlp []string
	var debug []string
	var natsWait time.Duration
	cmd := &cobra.Command{
		Use:    "guest manifest --name NAME --nats URL",
		Short:  "Host one guest of a built app, connected through NATS (used by --mode=split)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkNATSWait(natsWait); err != nil {
				return err
			}
			conn := split.ConnFromEnv(natsURL)
			if conn.URL == "" && !split.Supervised() {
				// Started by hand: nats.go would guess a server on this
				// machine's default port, and a wait for it would name none.
				return usageError{err: fmt.Errorf("parigot guest joins the NATS server of an app that runs elsewhere: give its URL with --nats (or %s)", split.EnvURL)}
			}
			// args[0] is the app's manifest file (what split mode passes,
			// so that a manifest not named parigot.hcl is honoured) or
			// its directory.
			// What the supervisor built or checked: the guests' sources
			// and protos need not be on this machine.
			app, err := builder.LoadBuilt(args[0])
			if err != nil {
				return err
			}
			wasm := map[string]string{}
			for _, g := range app.Guests() {
				wasm[g.Name] = builder.WasmPath(app, g.Name)
			}
			native := map[string]string{}
			for _, g := range debug {
				native[g] = builder.DebugPath(app, g)
			}
			guests := host.GuestsFromManifest(app, wasm)
			host.Debug(guests, native, listen)
			// Every child says alike that a tracing receiver does not
			// answer, or that its last spans could not be sent: its
			// supervisor says it once.
			alike := split.AlikeLines(stderr, logFormat == "json")
			tracing := startTracing(otlp, false, app.Name, name, alike)
			defer stopTracing(tracing, alike)
			metrics, stopPushing := pushMetrics(dashboard, name)
			defer stopPushing()
			out, err := split.RunChild(cmd.Context(), split.ChildOptions{
				App:    app.Name,
				Guests: guests,
				Name:   name,
				Conn:   conn,
				// A guest started by hand waits for its server, as a run
				// does; one started by a run takes the run's wait.
				NATSWait: natsWait,
				Stdout:   stdout,
				Stderr:   stderr,
				State:    splitState(app, "", false, nil),
				Tracing:  tracing,
				LogJSON:  logFormat == "json",
				Metrics:  metrics,
				// Computed once, at start: the offers carry them and
				// the calls compare them, nothing per call.
				Fingerprints: builtFrom(app),
			})
			if errors.As(err, new(*split.ReportedError)) {
				return exitCode(exitFailure) // the supervisor prints it
			}
			if err != nil {
				return err
			}
			return resultExit(out)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the guest to host")
	cmd.Flags().StringVar(&natsURL, "nats", "", "the NATS server(s) to connect to (a guest started by hand; the supervisor gives its children their own)")
	declareNATSWait(cmd.Flags(), &natsWait, "how long to wait for the NATS server when it does not answer yet, before giving up (a guest started by hand; the supervisor gives its children the run's)")
	cmd.Flags().StringSliceVar(&debug, "debug", nil, "the guests of the app that run under the debugger (built by parigot run --debug)")
	cmd.Flags().StringVar(&listen, "debug-listen", "", "the address Delve serves the --debug guest on")
	cmd.Flags().StringArrayVar(&otlp, "otlp", nil, "an OTLP/HTTP receiver to send the guest's spans to (repeatable)")
	cmd.Flags().StringVar(&logFormat, logFormatFlag, "text", "text or json (see parigot run)")
	cmd.Flags().StringVar(&dashboard, "dashboard", "", "the URL of the supervisor's dashboard, to push the guest's metrics to")
	cmd.MarkFlagRequired("name")
	return cmd
}

// builtFrom is the fingerprint of each proto service of app as its last
// build made it (builder.Fingerprints), which split mode's processes
// compare across machines; nil, and nothing compared, when the build's
// descriptors cannot be read (the guests could not have started then).
func builtFrom(app *manifest.App) map[string]split.Fingerprint {
	prints, err := builder.Fingerprints(app)
	if err != nil {
		return nil
	}
	out := make(map[string]split.Fingerprint, len(prints))
	for svc, p := range prints {
		out[svc] = split.Fingerprint(p)
	}
	return out
}

// plural is one or many, as n says.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// servicesReadyHere says, on a machine of several (--only), that the
// services it hosts are ready: nothing else would say that such a machine
// serves. Nil without --only.
func servicesReadyHere(own io.Writer, only []string) func(services []string) {
	if len(only) == 0 {
		return nil
	}
	return func(services []string) {
		kind := "service"
		if len(services) > 1 {
			kind = "services"
		}
		fmt.Fprintf(own, "parigot: %s %s ready here (--only), serving until stopped (Ctrl-C or SIGTERM)\n", kind, strings.Join(services, ", "))
	}
}
