package split

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// probeWait is how long the supervisor waits between two tries of a NATS
// server that cannot be reached, while children wait for it.
const probeWait = 250 * time.Millisecond

// natsWait is the supervisor's wait for a NATS server that children it
// started again could not reach. Owned by Supervise's goroutine; its
// probe's goroutine only sends on supervisor.natsBack.
type natsWait struct {
	url      string             // the server, as the children were given it
	children map[*child]bool    // those that wait for it, with no process
	stop     context.CancelFunc // ends the probe
}

// awaitNATS takes in that c, started again, could not reach the NATS
// server at url. That is a failure of the server, not of c's guest, and
// one that may pass: it counts as no restart (an outage longer than the
// restarts' waits would otherwise use them all up, and leave c down for
// good once the server is back). c waits, with no process, until a probe
// reaches the server (tried every probeWait while ctx lasts and the run
// goes on), then starts again. The wait is said once for every child that
// joins it.
func (s *supervisor) awaitNATS(ctx context.Context, c *child, url string) {
	if s.nats == nil {
		pctx, stop := context.WithCancel(ctx)
		s.nats = &natsWait{url: url, children: map[*child]bool{}, stop: stop}
		fmt.Fprintf(s.own, "parigot: the NATS server at %s cannot be reached: %s %s starts again once it can, and this failed start is not counted as a restart (%s)\n",
			url, c.spec.Kind, c.label, checkServer)
		go probeNATS(pctx, s.connFor(c.spec.Name), s.opts.App, c.spec.Name, s.natsBack)
	}
	s.nats.children[c] = true
}

// natsAnswers starts again the children that waited for the NATS server,
// which their probe reached.
func (s *supervisor) natsAnswers() {
	w := s.nats
	s.stopAwaitingNATS()
	if w == nil {
		return
	}
	var cs []*child
	var labels []string
	for c := range w.children {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *child) int { return strings.Compare(a.label, b.label) })
	for _, c := range cs {
		labels = append(labels, fmt.Sprintf("%s %s", c.spec.Kind, c.label))
	}
	fmt.Fprintf(s.own, "parigot: the NATS server at %s can be reached again: starting %s again\n", w.url, strings.Join(labels, ", "))
	for _, c := range cs {
		if err := s.start(c); err != nil {
			s.fail(err)
			return
		}
	}
}

// stopAwaitingNATS ends the wait for the NATS server, its probe with it;
// the children that waited are not started again by it.
func (s *supervisor) stopAwaitingNATS() {
	if s.nats != nil {
		s.nats.stop()
		s.nats = nil
	}
}

// probeNATS connects to the NATS server as conn says, as guest who of app
// does, every probeWait until the server answers: it takes the
// connection, or refuses it otherwise than by being unreachable (a
// child's start will say why); then it sends on answered, unless ctx ends
// first.
func probeNATS(ctx context.Context, conn Conn, app, who string, answered chan<- struct{}) {
	for {
		nc, err := conn.Connect(app, who)
		if err == nil {
			nc.Close()
		}
		if !errors.As(err, new(*UnreachableError)) {
			select {
			case answered <- struct{}{}:
			case <-ctx.Done():
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(probeWait):
		}
	}
}
