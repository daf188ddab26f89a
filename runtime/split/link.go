package split

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/lines"
)

// The link between the supervisor and a child it started is two pipes that
// the child inherits, so that nothing secret travels in its environment or
// command line and the child knows at once when its supervisor is gone:
//
//	down (supervisor -> child): one JSON line, the child's hello (how to
//	     reach NATS with its own credentials, which replica it is, the
//	     services its guest requires that are down for good); then a
//	     notice for each restart the child asks for (its grant), and for
//	     each service its guest requires that goes down for good. End of
//	     file means the supervisor is gone: the child stops.
//	up   (child -> supervisor): JSON lines, one report each: a service that
//	     became ready, a restart asked for; at the end, how the child's
//	     run ended.
//
// The child finds the two descriptors in EnvLink. Reports precede the
// child's exit on one pipe, read by one goroutine, so the supervisor sees
// them in the order they happened; no sleep stands in for that order.

// EnvLink names the environment variable that tells a child the file
// descriptors of its link, "down,up". It carries no secret.
const EnvLink = "PARIGOT_LINK_FDS"

// hello is what the supervisor tells a child first.
type hello struct {
	Conn    Conn `json:"conn"`
	Replica int  `json:"replica,omitempty"`
	// NATSOnly: no direct connections (ChildOptions.NATSOnly).
	NATSOnly bool `json:"nats_only,omitempty"`
	// DirectHost: where to listen for direct connections from other
	// machines (ChildOptions.DirectHost).
	DirectHost string `json:"direct_host,omitempty"`
	// AcrossMachines: the NATS server is one other machines share
	// (ChildOptions.AcrossMachines).
	AcrossMachines bool `json:"across_machines,omitempty"`
	// Lines: the supervisor wants each line of the guest's output as a
	// report (Options.Lines).
	Lines bool `json:"lines,omitempty"`
	// Sockets is the directory of the process's direct-connection socket,
	// made for it alone, which the supervisor removes when the process
	// ends; empty: one's own in the temporary directory.
	Sockets string `json:"sockets,omitempty"`
	// Elsewhere names the app's guests that no child of this supervisor
	// hosts (ChildOptions.Elsewhere).
	Elsewhere []string `json:"elsewhere,omitempty"`
	// Progress: the child says how compiling its guest goes (the
	// supervisor asks one process of each service: see
	// supervisor.saysProgress).
	Progress bool `json:"progress,omitempty"`
	// Backoff is how long the child's host waits before each restart of
	// its guest (Options.Backoff).
	Backoff host.Backoff `json:"backoff,omitzero"`
	// Down names the services the child's guest requires that are down
	// for good already (ChildOptions.Down); notices tell of those that go
	// down later.
	Down []string `json:"down,omitempty"`
	// NATSWait is how long the child waits for a NATS server that does
	// not answer (ChildOptions.NATSWait): the run's, for its first start
	// with a server given by URL; none for one started again, for which
	// the supervisor waits (supervisor.awaitNATS).
	NATSWait time.Duration `json:"nats_wait,omitempty"`
}

// notice is a line the supervisor sends a child after its hello. Exactly
// one field is set.
type notice struct {
	// Grant answers the child's request to restart its guest
	// (report.Restart).
	Grant *restartGrant `json:"grant,omitempty"`
	// Down is a service the child's guest requires that has gone down for
	// good: the guest does not wait for it (ChildOptions.Down).
	Down string `json:"down,omitempty"`
}

// restartGrant is the supervisor's answer to a child asking to restart its guest
// (report.Restart): the supervisor counts the restarts of each service,
// across its replicas and their processes, so that a service restarts at
// most host.MaxRestarts times in a host.RestartWindow, as in single mode,
// however many replicas it has and however its processes ended.
type restartGrant struct {
	// Restart is which restart of the service in the window this is (from
	// 1); 0: none, the service has used its restarts.
	Restart int `json:"restart"`
}

// report is one line a child sends its supervisor. Exactly one field is
// set, but Unreachable, which comes with Error.
type report struct {
	Ready      string           `json:"ready,omitempty"`       // this service became ready
	Restart    bool             `json:"restart,omitempty"`     // the child's host asks to restart its guest, which failed: a grant answers
	Result     *childResult     `json:"result,omitempty"`      // the run is over
	StartError *host.StartError `json:"start_error,omitempty"` // the guest could not start
	Error      string           `json:"error,omitempty"`       // the child failed otherwise
	// Unreachable, with Error, is the URL of the NATS server the child
	// could not reach at all (an *UnreachableError): its guest did not
	// start for that alone.
	Unreachable string `json:"unreachable,omitempty"`
	// Line is a line of the guest's output, as the JSON record of
	// --log-format json, with the call's method and trace where known.
	Line json.RawMessage `json:"line,omitempty"`
}

// childResult is how a child's run ended.
type childResult struct {
	host.Result
	// Stopped: the child was told to stop (SIGTERM, Ctrl-C, its supervisor
	// gone) and did so cleanly, after finishing its calls.
	Stopped bool `json:"stopped,omitempty"`
}

// Link is a child's end of its link to the supervisor that started it.
type Link struct {
	hello  hello
	gone   chan struct{}     // closed when the supervisor is gone
	grants chan restartGrant // the supervisor's answers to restart requests
	mu     sync.Mutex
	up     *os.File
	enc    *json.Encoder
	// downs is the services the guest requires that are down for good:
	// the hello's, then the notices'.
	downMu sync.Mutex
	downs  map[string]bool
}

// Supervised reports whether a supervisor (Supervise) started this
// process, and gives it its NATS server and credentials over its link:
// asked before RunChild, which takes the link out of the environment.
func Supervised() bool { return os.Getenv(EnvLink) != "" }

// OpenLink opens the link the supervisor gave this process, as EnvLink
// describes it. It returns nil and no error when the process was not
// started by a supervisor.
func OpenLink() (*Link, error) {
	v := os.Getenv(EnvLink)
	if v == "" {
		return nil, nil
	}
	os.Unsetenv(EnvLink) // the descriptors are read once
	downText, upText, ok := strings.Cut(v, ",")
	down, err1 := strconv.Atoi(downText)
	up, err2 := strconv.Atoi(upText)
	if !ok || err1 != nil || err2 != nil || down < 3 || up < 3 {
		return nil, fmt.Errorf("%s=%q: want two file descriptors, as \"3,4\"", EnvLink, v)
	}
	return openLink(os.NewFile(uintptr(down), "parigot-link-down"), os.NewFile(uintptr(up), "parigot-link-up"))
}

func openLink(down, up *os.File) (*Link, error) {
	if down == nil || up == nil {
		return nil, errors.New("the supervisor's link is not open in this process")
	}
	r := bufio.NewReader(down)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("reading the supervisor's hello: %w", err)
	}
	l := &Link{gone: make(chan struct{}), grants: make(chan restartGrant, 1), up: up, enc: json.NewEncoder(up), downs: map[string]bool{}}
	if err := json.Unmarshal(line, &l.hello); err != nil {
		return nil, fmt.Errorf("reading the supervisor's hello: %w", err)
	}
	for _, d := range l.hello.Down {
		l.downs[d] = true
	}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() { // ends when the supervisor's end closes
			var n notice
			if json.Unmarshal(sc.Bytes(), &n) != nil {
				continue // not from a supervisor
			}
			switch {
			case n.Grant != nil:
				select {
				case l.grants <- *n.Grant:
				default: // nobody asked: not from a supervisor
				}
			case n.Down != "":
				l.downMu.Lock()
				l.downs[n.Down] = true
				l.downMu.Unlock()
			}
		}
		io.Copy(io.Discard, r)
		down.Close()
		close(l.gone)
	}()
	return l, nil
}

// Conn is how to reach NATS, with this child's own credentials.
func (l *Link) Conn() Conn { return l.hello.Conn }

// Replica is which replica of its guest this child hosts (from 1), or 0
// when its guest has one.
func (l *Link) Replica() int { return l.hello.Replica }

// Gone is closed when the supervisor is gone, however it ended.
func (l *Link) Gone() <-chan struct{} { return l.gone }

// down reports whether the supervisor said that guest, a service the
// child's guest requires, is down for good: the child's
// ChildOptions.Down.
func (l *Link) down(guest string) bool {
	l.downMu.Lock()
	defer l.downMu.Unlock()
	return l.downs[guest]
}

func (l *Link) send(r report) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.enc.Encode(r) // a supervisor that is gone cannot be told anything
}

// maxLineReport bounds the record of one line sent as a report: the
// supervisor reads reports of up to 1 MiB, and a longer one would end its
// reading of the child's reports. The host cuts a guest's lines so that
// their records are shorter (lines.MaxRecord), and the dashboard gets each
// piece as in single mode; a longer record is left out.
const maxLineReport = lines.MaxRecord

// line sends the record of a line of the guest's output, when the
// supervisor wants them (host.Config.Lines).
func (l *Link) line(record []byte) {
	if !l.hello.Lines || len(record) > maxLineReport {
		return
	}
	l.send(report{Line: bytes.TrimSpace(record)})
}

// ready tells the supervisor that the service guest is ready.
func (l *Link) ready(guest string) { l.send(report{Ready: guest}) }

// restart asks the supervisor whether the child's host may restart its
// guest, which failed and whose policy allows it, and returns which restart
// of its service that is (from 1), or false when the service has used its
// restarts (or the supervisor is gone, or ctx ends first: the run is
// ending).
func (l *Link) restart(ctx context.Context) (int, bool) {
	l.send(report{Restart: true})
	select {
	case g := <-l.grants:
		return g.Restart, g.Restart > 0
	case <-l.gone:
	case <-ctx.Done():
	}
	return 0, false
}

// finish tells the supervisor how the run ended, and closes the link.
func (l *Link) finish(res host.Result, stopped bool, err error) {
	var se *host.StartError
	switch {
	case errors.As(err, &se):
		l.send(report{StartError: se})
	case err != nil && !stopped:
		r := report{Error: err.Error()}
		var ue *UnreachableError
		if errors.As(err, &ue) {
			r.Unreachable = ue.URL
		}
		l.send(r)
	default:
		l.send(report{Result: &childResult{Result: res, Stopped: stopped}})
	}
	l.up.Close()
}
