package split

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/observe"
	"parigot.dev/parigot/runtime/state"
)

// ChildOptions configures a process hosting one guest.
type ChildOptions struct {
	App    string            // the app's name: the root of its subjects
	Guests []*host.GuestSpec // every guest of the app
	Name   string            // the guest to host here
	// Conn is how to reach NATS. A child started by Supervise ignores it:
	// its link to the supervisor gives it its own credentials.
	Conn Conn
	// NATSWait is how long the child waits for a NATS server that does
	// not answer yet (nothing listens at its address: it has not started,
	// or is starting again), before it gives up with a *ServerWaitError;
	// it says so once, with why, and once connected. A server that
	// refuses the connection ends the wait at once. Zero: no wait. A
	// child started by Supervise takes it from its link: the run's
	// Options.NATSWait for its first start (the server answered the
	// supervisor, and may have gone away since), none when started again.
	NATSWait time.Duration
	Stdout   io.Writer
	Stderr   io.Writer
	// ReadyTimeout bounds the wait for required services. Zero:
	// host.DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// Elsewhere names the app's guests that run on other machines (split
	// mode's --only leaves them out of this one): the wait for those has
	// no limit, since the machines may start in any order. A child
	// started by Supervise takes it from Options.Only.
	Elsewhere []string
	// Ready, when set, is called once the hosted service is ready.
	Ready func()
	// Down, when set, reports whether a service of the app is down for
	// good in this run (it failed and is not restarted: see Downs): the
	// guest does not wait for it to be ready, which it will never be, but
	// says so and starts, and its calls to it fail with unavailable, as in
	// single mode, where a program started after a service went down runs
	// so. It is asked again while the guest waits, so a service that goes
	// down then ends the wait too. Package apptest sets it for the
	// programs it runs against services it watches; a child started by
	// Supervise takes it from its link, over which the supervisor tells of
	// each service its guest requires that goes down for good.
	Down func(guest string) bool
	// State lists the app's stores and topics (its Dir is not used here):
	// the child opens those its guest uses, on its own connection. Nil for
	// an app without any.
	State *State
	// Tracing, when set, makes a span of every call the hosted guest
	// answers; the caller shuts it down.
	Tracing *observe.Tracing
	// LogJSON writes the guest's lines as JSON objects (host.Config.LogJSON).
	LogJSON bool
	// Metrics, when set, counts the hosted guest's calls (host.Config.Metrics).
	Metrics *observe.Metrics
	// NATSOnly carries every call through the NATS server, as split mode
	// did before direct connections: for measuring the difference, and for
	// ruling the direct path out when looking for a fault. A child started
	// by Supervise takes it from Options.NATSOnly.
	NATSOnly bool
	// DirectHost is an address of this machine (an IP or host name, no
	// port) that the app's other machines reach: the hosted service also
	// listens for their direct connections on a TCP port of its own there,
	// over TLS.
	// Empty: callers on other machines go through the NATS server. A
	// child started by Supervise takes it from Options.DirectHost.
	DirectHost string
	// AcrossMachines: the NATS server is shared with the app's other
	// machines, which may host replicas of its services beyond those the
	// manifest declares (Network.AcrossMachines). A child started by
	// Supervise takes it from Options.Conn: a server given by URL.
	AcrossMachines bool
	// Fingerprints is what this process's build made each of the app's
	// proto services from (Network.Built): the hosted service's offers
	// carry its own, and its guest's calls compare those of the replicas
	// they find. Nil: nothing compared.
	Fingerprints map[string]Fingerprint

	// sockets is the directory the supervisor made for this process's
	// direct-connection socket (hello.Sockets); empty: the temporary
	// directory.
	sockets string
}

// Conn says how to reach NATS, and as whom.
type Conn struct {
	URL string // one URL or a comma-separated list (a cluster)
	// Seed is the nkey seed of the guest's own NATS user ("SU..."): the
	// supervisor makes one per guest for its embedded server, or reads it
	// from --nats-seeds for an operator's server. When set, the fields
	// below are not used.
	Seed string `json:",omitempty"`
	// One identity shared by the whole app, for an operator's server: the
	// simple fallback.
	Token string `json:",omitempty"`
	User  string `json:",omitempty"`
	Pass  string `json:",omitempty"`
	Creds string `json:",omitempty"` // a NATS credentials file
}

// Connect opens a NATS connection with c's address and credentials, for
// guest who of app (or NativeCaller): the connection names itself after
// them and takes its inbox (the answers to its readiness requests) under
// the app's subjects, where its permissions let it read. RunChild uses
// it, and so do native clients (package apptest) that call an app's
// services from outside any guest, through a Network without local guests.
func (c Conn) Connect(app, who string) (*nats.Conn, error) {
	return c.connect(app, who)
}

// connect is Connect with more options for nats.go, after its own.
func (c Conn) connect(app, who string, more ...nats.Option) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("parigot " + app + "/" + who),
		nats.CustomInboxPrefix(subjects{app}.inbox(who)),
		nats.MaxReconnects(-1),
		// A server that refuses the credentials while reconnecting (its
		// configuration reloaded without this user, say) may take them
		// again: keep trying, rather than close for good after two
		// refusals (nats.go's default), which left a guest cut off with
		// nothing said (see NewNetwork's error handler).
		nats.IgnoreAuthErrorAbort(),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DrainTimeout(drainTimeout),
	}
	switch {
	case c.Seed != "":
		kp, err := nkeys.FromSeed([]byte(c.Seed))
		if err != nil {
			return nil, fmt.Errorf("the NATS seed of %s is not an nkey seed (%v): give it the seed `parigot nats-config` made for it", who, err)
		}
		pub, err := kp.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("the NATS seed of %s: %w", who, err)
		}
		opts = append(opts, nats.Nkey(pub, kp.Sign))
	case c.Token != "":
		opts = append(opts, nats.Token(c.Token))
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, c.Pass))
	case c.Creds != "":
		opts = append(opts, nats.UserCredentials(c.Creds))
	}
	nc, err := nats.Connect(c.URL, append(opts, more...)...)
	if err != nil {
		return nil, c.connectError(who, err)
	}
	return nc, nil
}

// ShownURL is c.URL as parigot's messages show it, which go to terminals
// and logs: a user, password or token written into a URL is left out.
func (c Conn) ShownURL() string { return shownURLs(c.URL) }

// shownURLs is list, NATS URLs separated by commas, each with what comes
// before an @ in its address (the user and password, or the token) as
// xxxxx.
func shownURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		scheme, addr, ok := strings.Cut(p, "://")
		if !ok {
			scheme, addr = "", p
		}
		at := strings.LastIndexByte(addr, '@')
		if at < 0 {
			continue
		}
		if ok {
			scheme += "://"
		}
		parts[i] = scheme + "xxxxx@" + addr[at+1:]
	}
	return strings.Join(parts, ",")
}

// checkServer is what to check when a NATS server cannot be reached.
const checkServer = "check that the NATS server is up and reachable from here"

// UnreachableError is a NATS server that could not be reached at all:
// nothing answered at its address (it is down, starting again, or cut off
// from here). Unlike a refusal, it may pass by itself: the supervisor
// waits for the server rather than count a restart that failed only for
// this (see supervisor.awaitNATS).
type UnreachableError struct {
	URL string // the server's, as the child was given it (ShownURL)
	Err error  // nats.ErrNoServers, or the error of dialing the last URL
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("connecting to NATS at %s: %v (%s)", e.URL, e.Err, checkServer)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// unreachable reports whether err, from nats.Connect, says that no server
// answered at all: every address refused the connection (ErrNoServers),
// or dialing the last one failed.
func unreachable(err error) bool {
	var op *net.OpError
	return errors.Is(err, nats.ErrNoServers) || errors.As(err, &op) && op.Op == "dial"
}

// connectError says why who could not connect, and what to check.
func (c Conn) connectError(who string, err error) error {
	if unreachable(err) {
		return &UnreachableError{URL: c.ShownURL(), Err: err}
	}
	if !errors.Is(err, nats.ErrAuthorization) {
		return fmt.Errorf("connecting to NATS at %s: %w (%s)", c.ShownURL(), err, checkServer)
	}
	if c.Seed != "" {
		pub := "?"
		if kp, err := nkeys.FromSeed([]byte(c.Seed)); err == nil {
			pub, _ = kp.PublicKey()
		}
		return fmt.Errorf("connecting to NATS at %s: the server does not know %s's nkey %s (%w): "+
			"configure the server with the users `parigot nats-config` prints, from the same --seeds directory as --nats-seeds", c.ShownURL(), who, pub, err)
	}
	return fmt.Errorf("connecting to NATS at %s: the server refused the credentials (%w): "+
		"check --nats-user, --nats-creds or PARIGOT_NATS_TOKEN, PARIGOT_NATS_USER and PARIGOT_NATS_PASSWORD, PARIGOT_NATS_CREDS; "+
		"for a server configured with the users `parigot nats-config` prints, give each guest its own with --nats-seeds", c.ShownURL(), err)
}

// RunChild hosts the guest opts.Name: it connects to NATS, waits for the
// services the guest requires, and runs it until it ends (a program) or ctx
// is cancelled (a service).
//
// In a process started by Supervise, RunChild finds its link to the
// supervisor (see OpenLink): it takes its NATS credentials and replica
// from it, stops when the supervisor is gone, and reports readiness and how
// the run ended to it.
func RunChild(ctx context.Context, opts ChildOptions) (host.Result, error) {
	spec := host.FindGuest(opts.Guests, opts.Name)
	if spec == nil {
		return host.Result{}, fmt.Errorf("the app has no guest named %q", opts.Name)
	}
	link, err := OpenLink()
	if err != nil {
		return host.Result{}, err
	}
	if link == nil {
		return runChild(ctx, spec, opts, nil)
	}
	opts.Conn = link.Conn()
	opts.Elsewhere = link.hello.Elsewhere
	opts.NATSOnly = opts.NATSOnly || link.hello.NATSOnly
	opts.AcrossMachines = opts.AcrossMachines || link.hello.AcrossMachines
	opts.sockets = link.hello.Sockets
	opts.NATSWait = link.hello.NATSWait
	if opts.Down == nil {
		opts.Down = link.down
	}
	if opts.DirectHost == "" {
		opts.DirectHost = link.hello.DirectHost
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-link.Gone():
			cancel()
		case <-ctx.Done():
		}
	}()
	res, err := runChild(ctx, spec, opts, link)
	stopped := ctx.Err() != nil
	link.finish(res, stopped, err)
	switch {
	case stopped:
		return res, nil // told to stop, and stopped: nothing went wrong
	case err != nil:
		return res, &ReportedError{Err: err}
	}
	return res, nil
}

// ReportedError is an error RunChild has already reported to the
// supervisor, which prints it once for the whole run: the child exits
// non-zero without printing it again.
type ReportedError struct{ Err error }

func (e *ReportedError) Error() string { return e.Err.Error() }
func (e *ReportedError) Unwrap() error { return e.Err }

// WaitingFor says that a guest or gateway waits for service name, which
// runs on another machine when elsewhere (see ChildOptions.Elsewhere).
func WaitingFor(name string, elsewhere bool) string {
	if elsewhere {
		return fmt.Sprintf("is waiting for service %s, which runs on another machine (--only leaves it out here): it starts once %s is ready there", name, name)
	}
	return fmt.Sprintf("is waiting for service %s to be ready", name)
}

// AlikeLines is where a split-mode child's process writes what every
// process of the run says alike, of what they share (a tracing receiver
// that does not answer, then answers again): marked for its supervisor
// (lines.MarkAlike), which writes it once for all its children,
// unprefixed, as single mode says it once; with logJSON, as parigot's own
// JSON record (host.OwnLines), marked alike too; unmarked in a process
// that no supervisor started. Call it before RunChild, which takes the
// supervisor's link out of the environment.
func AlikeLines(stderr io.Writer, logJSON bool) io.Writer {
	if !Supervised() {
		return host.OwnLines(stderr, logJSON)
	}
	return host.OwnLines(lines.AlikeWriter(stderr), logJSON)
}

func runChild(ctx context.Context, spec *host.GuestSpec, opts ChildOptions, link *Link) (host.Result, error) {
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = host.DefaultReadyTimeout
	}
	// What this process says of its own, on the stderr its supervisor
	// reads: marked, so that the supervisor writes it without the guest's
	// prefix, as single mode writes the host's lines (host.Config.MarkSaid);
	// with --log-format json, each line a record of parigot's, as the
	// host's own lines are.
	said := opts.Stderr
	switch {
	case opts.LogJSON:
		said = host.OwnLines(opts.Stderr, true)
	case link != nil:
		said = lines.SaidWriter(opts.Stderr)
	}
	nc, err := connectWaiting(ctx, opts.Conn, opts.App, opts.Name, fmt.Sprintf("%s %s", spec.Kind, opts.Name), opts.NATSWait, said)
	if err != nil {
		return host.Result{}, err
	}
	network := NewNetwork(nc, opts.App, opts.Guests, opts.Name)
	network.natsOnly = opts.NATSOnly
	network.directHost = opts.DirectHost
	network.acrossMachines = opts.AcrossMachines
	network.sockets = opts.sockets
	network.SayTo(said)
	network.Built(opts.Fingerprints)
	if link != nil {
		network.label = host.ReplicaLabel(opts.Name, link.Replica())
	}
	if opts.Down != nil {
		network.SkipDown(opts.Down, func(name string) { fmt.Fprintf(said, "parigot: %s %s\n", opts.Name, NotWaitingFor(name)) })
	}
	// Closing waits until every reply this process sent has left it, so that
	// a caller elsewhere hears of a crash here as unavailable, not later as a
	// deadline.
	defer network.Close()

	// A permission the server refuses (an operator's server configured
	// otherwise than its guests need) ends the child with the refusal, which
	// says what to configure, rather than leaving its calls or its
	// dependents waiting in vain.
	ctx, refuse := context.WithCancelCause(ctx)
	defer refuse(nil)
	go func() {
		select {
		case pe := <-network.Refused():
			refuse(pe)
		case <-ctx.Done():
		}
	}()

	if _, gateway := GatewayOf(spec.Name); opts.AcrossMachines && spec.Kind == host.Program && !gateway {
		if err := network.claimProgram(ctx, spec.Name); err != nil {
			return host.Result{}, refusal(ctx, err)
		}
	}
	for _, g := range opts.Guests {
		if g.Debug != "" && slices.Contains(spec.Requires, g.Name) {
			opts.ReadyTimeout = host.DebugBudget // it starts when its debugger lets it
		}
	}
	if err := network.AwaitRequired(ctx, spec.Requires, opts.Elsewhere, opts.ReadyTimeout, func(name string, elsewhere bool) {
		fmt.Fprintf(said, "parigot: %s %s\n", opts.Name, WaitingFor(name, elsewhere))
	}); err != nil {
		return host.Result{}, refusal(ctx, err)
	}
	cfg := host.Config{
		Guests: []*host.GuestSpec{spec},
		Stdout: opts.Stdout,
		Stderr: opts.Stderr,
		Remote: network,
		Plain:  true,
		// Spans cross processes in the calls' NATS headers (network.go).
		Tracing: opts.Tracing,
		LogJSON: opts.LogJSON,
		Metrics: opts.Metrics,
		// The child's own lines cross to its supervisor marked.
		MarkSaid: link != nil,
	}
	if opts.State != nil {
		// Only what the guest uses, which is all its NATS user may reach;
		// the supervisor made the buckets and streams.
		engine, err := state.Open(ctx, nc, state.Options{App: opts.App, Stores: opts.State.Stores, Topics: opts.State.Topics, Uses: append([]string{}, spec.Uses...)})
		if err != nil {
			return host.Result{}, refusal(ctx, fmt.Errorf("opening the stores and topics of %s %s: %w", spec.Kind, spec.Name, err))
		}
		defer engine.Close()
		cfg.State = engine
	}
	if link != nil && link.hello.Progress {
		// A child's stderr is the supervisor's, line by line: no status
		// line, but a note when its guest takes a while to compile; from
		// one process of each service (see supervisor.saysProgress).
		cfg.Progress = said
	}
	cfg.Ready = func(guest string) {
		if link != nil {
			link.ready(guest)
		}
		if opts.Ready != nil {
			opts.Ready()
		}
	}
	if link != nil {
		cfg.Replica = link.Replica()
		if link.hello.Lines {
			cfg.Lines = link.line
		}
		cfg.Restart = func() (int, bool) { return link.restart(ctx) }
		cfg.Backoff = link.hello.Backoff
	}
	res, err := host.Run(ctx, cfg)
	return res, refusal(ctx, err)
}

// refusal is err when it tells of a refused permission already, else the
// server's refusal that ended ctx, when one did; else err.
func refusal(ctx context.Context, err error) error {
	var pe *PermissionError
	if !errors.As(err, &pe) && errors.As(context.Cause(ctx), &pe) {
		return pe
	}
	return err
}
