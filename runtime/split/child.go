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
	Conn   Conn
	Stdout io.Writer
	Stderr io.Writer
	// ReadyTimeout bounds the wait for required services. Zero: 30s.
	ReadyTimeout time.Duration
	// ExitOnOverrun ends the child process when its service overruns a
	// method budget under the "stop" policy (see host.Config.ExitOnOverrun);
	// the supervisor then restarts it if its policy says so. Nil: the
	// guest is compiled interruptible instead.
	ExitOnOverrun func()
}

// ExitOverrun is the exit code of a child that ended itself because its
// service overran a method budget.
const ExitOverrun = 75

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
func RunChild(ctx context.Context, opts ChildOptions) (host.Result, error) {
	var spec *host.GuestSpec
	for _, g := range opts.Guests {
		if g.Name == opts.Name {
			spec = g
		}
	}
	if spec == nil {
		return host.Result{}, fmt.Errorf("the app has no guest named %q", opts.Name)
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 30 * time.Second
	}
	nc, err := opts.Conn.connect("parigot " + opts.App + "/" + opts.Name)
	if err != nil {
		return host.Result{}, err
	}
	network := NewNetwork(nc, opts.App, opts.Guests, opts.Name)
	defer network.Close()

	if err := network.WaitReady(ctx, spec.Requires, opts.ReadyTimeout, func(name string) {
		fmt.Fprintf(opts.Stderr, "parigot: %s is waiting for service %s to be ready\n", opts.Name, name)
	}); err != nil {
		return host.Result{}, err
	}
	return host.Run(ctx, host.Config{
		Guests:        []*host.GuestSpec{spec},
		Stdout:        opts.Stdout,
		Stderr:        opts.Stderr,
		Remote:        network,
		Plain:         true,
		ExitOnOverrun: opts.ExitOnOverrun,
	})
}
