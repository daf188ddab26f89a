package split

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/runtime/host"
)

// ChildOptions configures a process hosting one guest.
type ChildOptions struct {
	App    string            // the app's name: the root of its subjects
	Guests []*host.GuestSpec // every guest of the app
	Name   string            // the guest to host here
	// Conn is how to reach NATS. A child started by Supervise ignores it:
	// its link to the supervisor gives it its own credentials.
	Conn   Conn
	Stdout io.Writer
	Stderr io.Writer
	// ReadyTimeout bounds the wait for required services. Zero:
	// host.DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// Ready, when set, is called once the hosted service is ready.
	Ready func()
}

// Conn says how to reach NATS.
type Conn struct {
	URL   string // one URL or a comma-separated list (a cluster)
	Token string // the embedded server's token; empty for none
	User  string
	Pass  string
	Creds string // a NATS credentials file
}

// Connect opens a NATS connection with c's address and credentials; name
// identifies the client to the server. RunChild uses it, and so do native
// clients (package apptest) that call an app's services from outside any
// guest, through a Network without local guests.
func (c Conn) Connect(name string) (*nats.Conn, error) { return c.connect(name) }

func (c Conn) connect(name string) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DrainTimeout(drainTimeout),
	}
	switch {
	case c.Token != "":
		opts = append(opts, nats.Token(c.Token))
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, c.Pass))
	case c.Creds != "":
		opts = append(opts, nats.UserCredentials(c.Creds))
	}
	nc, err := nats.Connect(c.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w", c.URL, err)
	}
	return nc, nil
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

func runChild(ctx context.Context, spec *host.GuestSpec, opts ChildOptions, link *Link) (host.Result, error) {
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = host.DefaultReadyTimeout
	}
	nc, err := opts.Conn.connect("parigot " + opts.App + "/" + opts.Name)
	if err != nil {
		return host.Result{}, err
	}
	network := NewNetwork(nc, opts.App, opts.Guests, opts.Name)
	// Closing waits until every reply this process sent has left it, so that
	// a caller elsewhere hears of a crash here as unavailable, not later as a
	// deadline.
	defer network.Close()

	if err := network.WaitReady(ctx, spec.Requires, opts.ReadyTimeout, func(name string) {
		fmt.Fprintf(opts.Stderr, "parigot: %s is waiting for service %s to be ready\n", opts.Name, name)
	}); err != nil {
		return host.Result{}, err
	}
	cfg := host.Config{
		Guests: []*host.GuestSpec{spec},
		Stdout: opts.Stdout,
		Stderr: opts.Stderr,
		Remote: network,
		Plain:  true,
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
	}
	return host.Run(ctx, cfg)
}
