package split

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// DefaultNATSWait is how long a process waits for a NATS server given by
// URL that does not answer yet, unless told otherwise (--nats-wait): the
// supervisor of a run, a guest started by hand, parigot state.
const DefaultNATSWait = 2 * time.Minute

// runWaits is the waiter of AwaitServer when the run's supervisor waits.
const runWaits = "the run"

// The tries of a NATS server given by URL that does not answer when a
// process starts (Options.NATSWait, ChildOptions.NATSWait): the second
// comes soon, for a server starting at the same moment, and each later
// one twice as late, up to serverRetryMax, so that a server that is down
// a long time is not hammered, and one that comes up is joined within
// serverRetryMax.
const (
	serverRetryFirst = 100 * time.Millisecond
	serverRetryMax   = 2 * time.Second
)

// ServerWaitError is a NATS server given by URL that did not answer
// within the wait for it at the start of a process (Options.NATSWait,
// ChildOptions.NATSWait, parigot state's --nats-wait).
type ServerWaitError struct {
	URL    string        // the server or cluster, as given (Conn.ShownURL)
	Waited time.Duration // how long the process waited: its --nats-wait
	Last   error         // why the last try failed
}

func (e *ServerWaitError) Error() string {
	return fmt.Sprintf("the NATS server at %s did not answer within %s (--nats-wait); the last try: %v: %s, or wait longer with --nats-wait",
		e.URL, e.Waited, e.Last, checkServer)
}

func (e *ServerWaitError) Unwrap() error { return e.Last }

// AwaitServer waits until the NATS server conn names takes a connection
// as who of app, trying again while nothing answers at its address (an
// *UnreachableError: it is not up yet) and limit has not passed since the
// first try; it says on say once that it waits, why, what starts once it
// answers (waiter: "service orders", "parigot state"; "the run" for the
// supervisor) and for how long at most, and once connected after how
// long. Any other failure (the credentials refused, a seed that is no
// seed, TLS) would not pass by waiting: it is returned at once, as
// Connect says it. It is the one wait for a server given by URL: the
// supervisor's before any child starts, a child's at its first start, a
// guest started by hand, parigot state --nats. The connection is
// closed again: the caller only learns that the server is there. Returns
// ctx's error when ctx ends first, at once, even within a try.
//
// Each try is Connect, without nats.go's own retry of a first connection
// (nats.RetryOnFailedConnect), which would retry every failure alike, and
// report none until it gave up: while the connection is first made it
// tells no handler of a server that refuses the credentials or fails TLS,
// and would wait out the limit on a failure that does not pass.
func AwaitServer(ctx context.Context, conn Conn, app, who, waiter string, limit time.Duration, say io.Writer) error {
	start := time.Now()
	retry := serverRetryFirst
	for waiting := false; ; waiting = true {
		dials := &dialRecorder{ctx: ctx}
		nc, err := conn.connect(app, who, nats.SetCustomDialer(dials))
		if ctx.Err() != nil {
			if err == nil {
				nc.Close()
			}
			return ctx.Err()
		}
		if err == nil {
			url := shownURLs(nc.ConnectedUrlRedacted())
			nc.Close()
			if waiting {
				starts := ""
				if waiter != runWaits { // the run's starts are said by their processes
					starts = ": " + waiter + " starts"
				}
				fmt.Fprintf(say, "parigot: connected to the NATS server at %s after %s%s\n", url, time.Since(start).Round(100*time.Millisecond), starts)
			}
			return nil
		}
		var ue *UnreachableError
		if !errors.As(err, &ue) {
			return err
		}
		why := dials.last(ue.Err)
		if !waiting {
			fmt.Fprintf(say, "parigot: waiting for the NATS server at %s (%v): %s starts once it answers, for up to %s (--nats-wait)\n", conn.ShownURL(), why, waiter, limit)
		}
		left := limit - time.Since(start)
		if left <= 0 {
			return &ServerWaitError{URL: conn.ShownURL(), Waited: limit, Last: why}
		}
		t := time.NewTimer(min(retry, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		retry = min(2*retry, serverRetryMax)
	}
}

// connectWaiting connects to the NATS server conn names as who of app,
// once it answers: first AwaitServer, within wait (0: not at all), said
// on say naming waiter, then Connect. What a process that connects to a
// server given by URL does: a child at its first start, a gateway its
// supervisor serves.
func connectWaiting(ctx context.Context, conn Conn, app, who, waiter string, wait time.Duration, say io.Writer) (*nats.Conn, error) {
	if wait > 0 {
		if err := AwaitServer(ctx, conn, app, who, waiter, wait, say); err != nil {
			return nil, err
		}
	}
	return conn.Connect(app, who)
}

// dialRecorder dials the NATS server's addresses for nats.go
// (nats.SetCustomDialer) and keeps why the last dial failed: nats.go
// reports a server that refused the connection as no server at all
// (nats.ErrNoServers), and the wait says why. Its dials end with ctx,
// which an interface without one can only carry here.
type dialRecorder struct {
	ctx context.Context

	mu  sync.Mutex // nats.go dials on its own goroutine when it reconnects
	err error
}

func (d *dialRecorder) Dial(network, address string) (net.Conn, error) {
	nd := net.Dialer{Timeout: nats.DefaultTimeout}
	c, err := nd.DialContext(d.ctx, network, address)
	if err != nil {
		d.mu.Lock()
		d.err = err
		d.mu.Unlock()
	}
	return c, err
}

// last is why the last dial failed, or otherwise when none did.
func (d *dialRecorder) last(otherwise error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	return otherwise
}
