package split

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/internal/tempdir"
	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/state"
)

// Options configures a split-mode run.
type Options struct {
	// LogJSON: the children write their lines as JSON objects
	// (ChildOptions.LogJSON, which ChildArgs must pass on), which go out
	// unprefixed.
	LogJSON bool
	App     string            // the app's name
	Guests  []*host.GuestSpec // every guest of the app, in start order
	Only    []string          // host only these guests here; empty: all
	// Conn is the NATS to join. An empty URL starts an embedded server on
	// loopback, with an identity of its own for each guest. A URL names a
	// server the app's other machines may share: the children's calls look
	// for replicas beyond those the manifest declares
	// (ChildOptions.AcrossMachines).
	Conn Conn
	// NATSWait, with Conn.URL, is how long the run waits for a server
	// that does not answer yet (it may start after this machine), before
	// any child starts: the supervisor tries it, as the first process
	// hosted here, says that it waits and, once connected, after how
	// long; past NATSWait the run ends with a *ServerWaitError. A server
	// that answers and refuses the connection ends the run at once.
	// Zero: no wait, a child that cannot reach the server ends the run.
	NATSWait time.Duration
	// Seeds, with Conn.URL, is a directory holding the nkey seed of each
	// guest hosted here (see SeedFile): each child connects as its own
	// guest's NATS user. Empty: every child uses Conn's credentials.
	Seeds string
	// Executable is the parigot binary the children run. Empty: this one.
	Executable string
	// ChildArgs gives the command line of the child hosting a guest, after
	// the program name (for example "guest", appDir, "--name", name). The
	// child calls RunChild, which finds its link to the supervisor.
	ChildArgs func(guest string) []string
	Stdout    io.Writer
	Stderr    io.Writer
	// StopTimeout bounds how long children get to stop before being killed.
	// Zero: 5 seconds.
	StopTimeout time.Duration
	// Started, when set, is called with each child's label and process id.
	Started func(label string, pid int)
	// Gateways are the app's gateways; those Only names (all without Only)
	// are served by this process, with Serve.
	Gateways []Gateway
	// Serve serves the gateways hosted here, beside the children, until
	// its ctx ends; connect opens the NATS connection of an identity
	// (GatewayIdentity): to a server given by URL that does not answer
	// (gone away since the
	// run connected), once it answers, within NATSWait, said as a child
	// at its first start says it; then nats.go reconnects it as it does a
	// child's, and the network says a loss (Network.SayTo). With a
	// gateway hosted here, the run lasts until Supervise's ctx ends or
	// Serve fails, whatever the programs do. down reports a service that
	// is down for good in the run (see Downs): a gateway does not wait
	// for it (Network.SkipDown).
	Serve func(ctx context.Context, connect Connector, down func(guest string) bool) error
	// NATSOnly carries every call through the NATS server, with no direct
	// connection between the children (see ChildOptions.NATSOnly).
	NATSOnly bool
	// DirectHost is an address of this machine that the app's other
	// machines reach: each child serving a guest also listens for their
	// direct connections on TCP there (see ChildOptions.DirectHost).
	// Empty: calls between machines go through the NATS server.
	DirectHost string
	// State is the app's stores and topics, which the embedded server
	// keeps (with JetStream) and makes before the children start; nil for
	// an app without any, whose server runs no JetStream.
	State *State
	// Backoff is how long a service that failed waits before each
	// restart, in its child's host and when the supervisor starts a
	// killed child again; the zero Backoff is the default (see
	// host.Backoff).
	Backoff host.Backoff
	// ProgramsEnded, when set, is called once the programs hosted here
	// have ended (with a gateway here, the run serves on), or after the
	// children start when none is a program.
	ProgramsEnded func()
	// Lines, when set, also gets every line of the children's guests'
	// output as the JSON record of --log-format json (host.Config.Lines),
	// whatever the format: each child sends them over its link, tagged
	// with the call's method and trace where it knows them.
	Lines func(record []byte)
	// ServicesReady, when set, is called once every process of the
	// services hosted here has been ready, with their names, in start
	// order; not at all when none is hosted here.
	ServicesReady func(services []string)
}

// Environment variables a child started by hand (not by Supervise) reads
// its NATS credentials from; see ConnFromEnv.
const (
	EnvURL   = "PARIGOT_NATS_URL"
	EnvToken = "PARIGOT_NATS_TOKEN"
	EnvUser  = "PARIGOT_NATS_USER"
	EnvPass  = "PARIGOT_NATS_PASSWORD"
	EnvCreds = "PARIGOT_NATS_CREDS"
)

// ConnFromEnv reads NATS credentials from the environment; url overrides
// the environment's URL when not empty.
func ConnFromEnv(url string) Conn {
	if url == "" {
		url = os.Getenv(EnvURL)
	}
	return Conn{URL: url, Token: os.Getenv(EnvToken), User: os.Getenv(EnvUser), Pass: os.Getenv(EnvPass), Creds: os.Getenv(EnvCreds)}
}

// child is one process of the run: one guest, or one replica of a service.
type child struct {
	label    string
	replica  int // from 1 when its service has several; else 0
	spec     *host.GuestSpec
	out, err *lines.Writer

	// owned by Supervise's goroutine
	cmd   *exec.Cmd
	down  *os.File // the supervisor's end of the link's down pipe
	ready bool     // it said it was ready, in this start or an earlier one
	// restarted: the supervisor started this process again after the
	// last one was killed: one that cannot start is a failed restart, not
	// a start error of the run.
	restarted bool
	started   time.Time // when its current process started
}

// childEvent is something that happened to a child: a report it sent, or
// its exit, with the report it ended with; or the end of its wait before
// the supervisor starts it again (due).
type childEvent struct {
	c      *child
	report *report // a ready report, or (with exited) the final one; nil if it sent none
	exited bool
	err    error // exited: what Wait returned
	due    bool  // its wait to start again is over
}

// supervisor is one Supervise: its phases are methods, its state is here.
// Every field is owned by the goroutine that called Supervise; the
// children's watcher goroutines only send on events.
type supervisor struct {
	opts     Options
	server   *Server           // the embedded NATS server; nil with Options.Conn
	seeds    map[string]string // guest -> its seed, from Options.Seeds
	children []*child
	events   chan childEvent
	running  map[*child]bool
	// waiting holds the children killed from outside that wait to be
	// started again (see host.Backoff), each with the timer that sends
	// their due event.
	waiting map[*child]*time.Timer
	// nats holds the children started again that could not reach the NATS
	// server, which wait for it (see awaitNATS); nil while none does.
	// natsBack is where its probe says that the server answers again.
	nats     *natsWait
	natsBack chan struct{}
	// own is where the supervisor says what it says of its own: its
	// Stderr, as JSON records with Options.LogJSON.
	own io.Writer
	// restarts counts the restarts of each service (by name) in the run,
	// those of every replica and process of it, by their hosts or by the
	// supervisor: together at most host.MaxRestarts in a
	// host.RestartWindow, as in single mode.
	restarts map[string]*host.Restarts
	// downs counts the processes of each service that ended for good: a
	// service all of whose processes have is down for good, and the
	// children whose guests require it do not wait for it.
	downs     *Downs
	programs  int        // programs still running
	saidReady bool       // Options.ServicesReady has been called
	gateways  []Gateway  // the gateways hosted here
	served    chan error // Serve's end; nil without gateways here
	stopServe context.CancelFunc
	res       host.Result
	err       error // the first error: what Supervise returns
	// sockets holds a directory for each child process's direct-connection
	// socket, which the supervisor makes before it starts the process and
	// removes once the process has ended (watchChild): a child killed by a
	// signal cannot remove its own, and a run of weeks restarts many. What
	// is left is removed with it when the run ends. Empty: each child's
	// own temporary directory.
	sockets string
}

// Supervise runs the app split into one process per guest and returns how
// the programs ended. Result.Failures has the failures of every child, as
// single mode would report them; the error is a *host.StartError when a
// guest could not start, as in single mode.
func Supervise(ctx context.Context, opts Options) (host.Result, error) {
	s, err := newSupervisor(opts)
	if err != nil {
		return host.Result{}, err
	}
	defer s.close()
	if !opts.NATSOnly {
		// Without one, each child makes a directory of its own (see
		// listenDirect), which a child killed by a signal leaves behind.
		// This one, a supervisor killed by a signal leaves: the next run's
		// removes it.
		s.sockets, _ = tempdir.Make(tempdir.Run)
	}
	// 1. NATS: the embedded server, or the one given, once it answers.
	if err := s.connect(ctx); err != nil {
		return host.Result{}, err
	}
	// 2. Every child at once; start order emerges from each child waiting
	// for the services its guest requires (which also holds across
	// machines).
	if err := s.startAll(); err != nil {
		s.stopAll()
		return s.res, err
	}
	if s.programs == 0 {
		s.programsEnded()
	}
	// 3. The gateways hosted here, beside the children.
	s.serve()
	// 4. Until the programs end (or, with no program here, until a service
	// ends for good; with a gateway, until stopped), or ctx ends.
	s.wait(ctx)
	// 5. Stop what still runs: the gateways first, which finish the
	// requests they have, then the children.
	s.stopServing()
	s.stopAll()
	return s.res, s.err
}

func newSupervisor(opts Options) (*supervisor, error) {
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 5 * time.Second
	}
	if opts.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding the parigot binary for the child processes: %w", err)
		}
		opts.Executable = exe
	}
	s := &supervisor{opts: opts, running: map[*child]bool{}, waiting: map[*child]*time.Timer{}, restarts: map[string]*host.Restarts{},
		downs: NewDowns(opts.Guests), own: host.OwnLines(opts.Stderr, opts.LogJSON), natsBack: make(chan struct{})}
	only := map[string]bool{}
	for _, n := range opts.Only {
		only[n] = true
	}
	width := 0
	for _, g := range opts.Guests {
		if len(only) > 0 && !only[g.Name] {
			continue
		}
		for _, r := range g.ReplicaNumbers() {
			c := &child{spec: g, replica: r, label: host.ReplicaLabel(g.Name, r)}
			width = max(width, len(c.label))
			s.children = append(s.children, c)
		}
	}
	for _, g := range opts.Gateways {
		if len(only) == 0 || only[g.Name] {
			s.gateways = append(s.gateways, g)
		}
	}
	if len(s.gateways) > 0 && opts.Serve == nil {
		return nil, errors.New("split: gateways to serve, and no Serve")
	}
	if len(s.children) == 0 && len(s.gateways) == 0 {
		return nil, fmt.Errorf("no guest to run here: --only names none of the app's guests")
	}
	stdout, stderr := lines.NewSink(opts.Stdout), lines.NewSink(opts.Stderr)
	for _, c := range s.children {
		// A child cuts its guest's long lines already (lines.MaxLine), so
		// its lines pass through whole.
		prefix := lines.Prefix(c.label, width)
		// The child's host marks its own lines on stderr (lines.Said):
		// they are written unprefixed, as single mode writes them.
		c.out, c.err = stdout.Writer(prefix), stderr.Writer(prefix).Passing()
		if opts.LogJSON { // each child writes JSON lines naming its guest
			c.out, c.err = stdout.RecordWriter(), stderr.RecordWriter().Passing() // a record said alike, once
		}
	}
	// Each child sends a handful of events, and its wait to start again
	// one more; the buffer keeps their watchers and timers from waiting
	// on a supervisor that is stopping.
	s.events = make(chan childEvent, 5*len(s.children)*(host.MaxRestarts+1))
	return s, nil
}

// connect starts the embedded NATS server, with a user per guest, unless
// Options.Conn names a server; then it reads the seeds of the guests
// hosted here, if Options.Seeds has them, waits for the server to answer
// (Options.NATSWait) and makes the app's stores and topics there, before
// any child starts. The supervisor itself does not stay connected: its
// children report to it over their links (it connects only to probe a
// server, at start and when children started again could not reach it:
// see awaitNATS).
func (s *supervisor) connect(ctx context.Context) error {
	if s.opts.Conn.URL == "" {
		if s.opts.Seeds != "" {
			return errors.New("seeds are for a NATS server given by URL (--nats): the embedded server makes a key for each guest itself")
		}
		srv, err := StartStateServer(s.opts.App, WithGateways(s.opts.Guests, s.opts.Gateways), s.opts.State)
		if err != nil {
			return err
		}
		s.server = srv
		return nil
	}
	if err := s.readSeeds(); err != nil {
		return err
	}
	if err := s.awaitServer(ctx); err != nil {
		return err
	}
	return s.makeState(ctx)
}

// readSeeds reads the seeds of the guests hosted here, when Options.Seeds
// has them.
func (s *supervisor) readSeeds() error {
	if s.opts.Seeds == "" {
		return nil
	}
	var names []string
	for _, c := range s.children {
		if c.replica <= 1 { // replicas share their guest's identity
			names = append(names, c.spec.Name)
		}
	}
	for _, g := range s.gateways {
		names = append(names, GatewayIdentity(g.Name))
	}
	seeds, err := ReadSeeds(s.opts.Seeds, names)
	if err != nil {
		return err
	}
	s.seeds = seeds
	return nil
}

// makeState makes the app's buckets and streams on a server given by URL,
// with the credentials the app shares. With a user per guest (seeds), no
// guest may make them: the operator does, once (see docs/STATE.md).
func (s *supervisor) makeState(ctx context.Context) error {
	if s.opts.State == nil || s.opts.Seeds != "" {
		return nil
	}
	nc, err := s.opts.Conn.Connect(s.opts.App, StateAdmin)
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	e, err := state.Open(ctx, nc, state.Options{App: s.opts.App, Stores: s.opts.State.Stores, Topics: s.opts.State.Topics, Create: true, Log: s.opts.State.Log})
	if err != nil {
		return fmt.Errorf("making the stores and topics of %s on %s: %w", s.opts.App, s.opts.Conn.ShownURL(), err)
	}
	e.Close()
	return nil
}

// awaitServer waits for the NATS server given by URL to answer, up to
// Options.NATSWait, connecting as the first process hosted here does: a
// guest's, or a gateway's. Once only, for every process here: they start
// after it, and their waits for the services they require (and the limit
// of those) start once they have connected.
func (s *supervisor) awaitServer(ctx context.Context) error {
	if s.opts.NATSWait <= 0 {
		return nil
	}
	var who, what string
	if len(s.children) > 0 {
		c := s.children[0]
		who, what = c.spec.Name, fmt.Sprintf("%s %s", c.spec.Kind, c.spec.Name)
	} else {
		who, what = GatewayIdentity(s.gateways[0].Name), "gateway "+s.gateways[0].Name
	}
	err := AwaitServer(ctx, s.connFor(who), s.opts.App, who, runWaits, s.opts.NATSWait, s.own)
	var we *ServerWaitError
	if err == nil || ctx.Err() != nil || errors.As(err, &we) {
		return err
	}
	return fmt.Errorf("%s: %w", what, err) // as that process would have said it
}

// childNATSWait is how long c's process waits for a NATS server given by
// URL that does not answer: the run's wait, for its first start (the
// server answered the supervisor, and may have gone away since); none
// when started again, which the supervisor waits for itself, without
// limit and without counting it a restart (awaitNATS). The embedded
// server does not go away while the run lasts.
func (s *supervisor) childNATSWait(c *child) time.Duration {
	if s.server != nil || c.restarted {
		return 0
	}
	return s.opts.NATSWait
}

// connFor is how the child hosting guest reaches NATS: as its guest's own
// user when there is one, else with the credentials the app shares.
func (s *supervisor) connFor(guest string) Conn {
	switch {
	case s.server != nil:
		return s.server.Conn(guest)
	case s.seeds != nil:
		return Conn{URL: s.opts.Conn.URL, Seed: s.seeds[guest]}
	}
	return s.opts.Conn
}

// close releases what the supervisor holds.
func (s *supervisor) close() {
	if s.server != nil {
		s.server.Shutdown()
	}
	if s.sockets != "" {
		os.RemoveAll(s.sockets)
	}
}

// fail keeps err as the run's error unless it already has one.
func (s *supervisor) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// elsewhere is the app's guests that run on other machines: those --only
// leaves out of this one.
func (s *supervisor) elsewhere() []string {
	return Elsewhere(s.opts.Guests, s.opts.Only)
}

// Elsewhere is the guests of guests that run on other machines, given
// split mode's --only (only): none without it.
func Elsewhere(guests []*host.GuestSpec, only []string) []string {
	if len(only) == 0 {
		return nil
	}
	var out []string
	for _, g := range guests {
		if !slices.Contains(only, g.Name) {
			out = append(out, g.Name)
		}
	}
	return out
}

// servicesReady calls Options.ServicesReady, once, when every process of
// the services hosted here has been ready.
func (s *supervisor) servicesReady() {
	if s.opts.ServicesReady == nil || s.saidReady {
		return
	}
	var names []string
	for _, c := range s.children {
		if c.spec.Kind != host.Service {
			continue
		}
		if !c.ready {
			return
		}
		if !slices.Contains(names, c.spec.Name) {
			names = append(names, c.spec.Name)
		}
	}
	if len(names) > 0 {
		s.saidReady = true
		s.opts.ServicesReady(names)
	}
}

// programsEnded tells Options.ProgramsEnded that the programs have ended.
func (s *supervisor) programsEnded() {
	if s.opts.ProgramsEnded != nil {
		s.opts.ProgramsEnded()
	}
}

// startAll starts every child.
func (s *supervisor) startAll() error {
	for _, c := range s.children {
		if err := s.start(c); err != nil {
			return err
		}
		if c.spec.Kind == host.Program {
			s.programs++
		}
	}
	return nil
}

// start starts c's process with its link, and a goroutine that turns what
// the child reports, and its exit, into events.
func (s *supervisor) start(c *child) error {
	downR, downW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("starting the process for %s: %w", c.label, err)
	}
	upR, upW, err := os.Pipe()
	if err != nil {
		downR.Close()
		downW.Close()
		return fmt.Errorf("starting the process for %s: %w", c.label, err)
	}
	sockets := s.socketDir()
	c.cmd = &exec.Cmd{
		Path:        s.opts.Executable,
		Args:        append([]string{"parigot"}, s.opts.ChildArgs(c.spec.Name)...),
		Stdout:      c.out,
		Stderr:      c.err,
		Env:         append(os.Environ(), EnvLink+"=3,4"),
		ExtraFiles:  []*os.File{downR, upW}, // the child's 3 and 4
		SysProcAttr: childProcAttr(),
	}
	err = c.cmd.Start()
	downR.Close() // the child has its own copies
	upW.Close()
	if err != nil {
		downW.Close()
		upR.Close()
		removeSocketDir(sockets)
		return fmt.Errorf("starting the process for %s: %w", c.label, err)
	}
	hi, _ := json.Marshal(hello{Conn: s.connFor(c.spec.Name), Replica: c.replica, NATSOnly: s.opts.NATSOnly, DirectHost: s.opts.DirectHost, AcrossMachines: s.opts.Conn.URL != "", Lines: s.opts.Lines != nil, Sockets: sockets, Elsewhere: s.elsewhere(),
		Progress: saysProgress(c), Backoff: s.opts.Backoff, Down: s.downs.Among(c.spec.Requires), NATSWait: s.childNATSWait(c)})
	downW.Write(append(hi, '\n')) // a child that died at once is reported by its exit
	c.down = downW
	c.started = time.Now()
	if s.opts.Started != nil {
		s.opts.Started(c.label, c.cmd.Process.Pid)
	}
	s.running[c] = true
	go s.watchChild(c, c.cmd, upR, sockets)
	return nil
}

// socketDir makes the directory of one child process's direct-connection
// socket in the run's; "" (the child makes its own in the temporary
// directory) without a run's, or when it cannot be made.
func (s *supervisor) socketDir() string {
	if s.sockets == "" {
		return ""
	}
	dir, err := os.MkdirTemp(s.sockets, "p")
	if err != nil {
		return ""
	}
	return dir
}

// removeSocketDir removes the directory of a child process's socket, once
// the process has ended.
func removeSocketDir(dir string) {
	if dir != "" {
		os.RemoveAll(dir)
	}
}

// saysProgress reports whether c's process says how compiling its guest
// goes ("compiled service echo to native code (3.7s)", "still compiling
// echo (10s)"): the first replica of a service, and a replica started
// again alone. The replicas that start with the first compile the same
// module at the same moment on the same machine, so what the first says
// holds for them all; were they to say it too, the user would read each
// line once per replica, none naming it.
func saysProgress(c *child) bool { return c.replica <= 1 || c.restarted }

// watchChild sends c's reports as events, then its exit with the last
// report, once it has removed the process's socket directory, sockets. It
// runs on its own goroutine, one per start of a child.
func (s *supervisor) watchChild(c *child, cmd *exec.Cmd, up *os.File, sockets string) {
	var last *report
	sc := bufio.NewScanner(up)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r report
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue // not from a parigot child
		}
		if r.Ready != "" || r.Restart {
			s.events <- childEvent{c: c, report: &r}
			continue
		}
		if r.Line != nil {
			if s.opts.Lines != nil {
				s.opts.Lines(r.Line)
			}
			continue
		}
		last = &r
	}
	up.Close()
	err := cmd.Wait() // returns once the child's output is copied
	removeSocketDir(sockets)
	c.out.Flush()
	c.err.Flush()
	s.events <- childEvent{c: c, report: last, exited: true, err: err}
}

// serve starts Serve for the gateways hosted here.
func (s *supervisor) serve() {
	if len(s.gateways) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopServe = cancel
	s.served = make(chan error, 1)
	go func() { s.served <- s.opts.Serve(ctx, s.connectGateway, s.downs.Down) }()
}

// connectGateway is how a gateway served here reaches NATS (Options.Serve):
// as its own identity, waiting for a server given by URL as a child's
// first start does (childNATSWait); the embedded server does not go away
// while the run lasts.
func (s *supervisor) connectGateway(ctx context.Context, identity, waiter string) (*nats.Conn, error) {
	wait := s.opts.NATSWait
	if s.server != nil {
		wait = 0
	}
	return connectWaiting(ctx, s.connFor(identity), s.opts.App, identity, waiter, wait, s.own)
}

// stopServing stops the gateways and waits for Serve to end (it bounds
// its own graceful stop).
func (s *supervisor) stopServing() {
	if s.stopServe == nil {
		return
	}
	s.stopServe()
	if s.served != nil {
		if err := <-s.served; err != nil {
			s.fail(err)
		}
	}
}

// wait handles what the children report until the run is over: the
// programs have ended or, with only services here, none runs any more;
// with a gateway here, whatever the programs do, until the gateway fails;
// or ctx has ended. A service that ends for good is down (its callers get
// unavailable) while the others go on, as in single mode.
func (s *supervisor) wait(ctx context.Context) {
	servicesOnly := s.programs == 0
	serving := len(s.gateways) > 0
	for (serving || s.remaining() > 0 && (servicesOnly || s.programs > 0)) && s.err == nil && ctx.Err() == nil {
		select {
		case e := <-s.events:
			switch {
			case e.due:
				s.startAgain(e.c)
			case e.exited:
				s.exited(ctx, e)
			case e.report.Restart:
				s.grantRestart(e.c)
			default:
				e.c.ready = true
				s.servicesReady()
			}
		case <-s.natsBack:
			s.natsAnswers()
		case err := <-s.served:
			s.served = nil
			if err == nil {
				err = errors.New("the gateways stopped serving")
			}
			s.fail(err)
		case <-ctx.Done():
		}
	}
	// The children may have heard an interrupt (Ctrl-C reaches the whole
	// process group) and ended before the supervisor took in its own: the
	// interrupt explains whatever they reported.
	if ctx.Err() != nil {
		s.err = ctx.Err()
	}
}

// exited takes in a child's exit: a program's end, a service's restart
// when it was killed from outside and its policy allows, or a service down
// for good.
func (s *supervisor) exited(ctx context.Context, e childEvent) {
	c := e.c
	delete(s.running, c)
	c.down.Close()
	r := e.report
	if r == nil { // it said nothing: killed, or not a parigot child at all
		r = &report{Result: &childResult{Result: host.Result{ExitCode: exitCodeOf(e.err)}}}
		if c.spec.Kind == host.Service || e.err != nil {
			r.Result.Failures = []host.Failure{{Guest: c.spec.Name, Replica: c.replica, Kind: c.spec.Kind, Cause: host.CauseKilled, Detail: describe(e.err)}}
			r.Result.ExitCode = 1
		}
	}
	notStarted := false
	switch {
	case r.Unreachable != "" && c.restarted && ctx.Err() == nil:
		// Its NATS server cannot be reached: no fault of its guest's, and
		// no restart of it.
		s.awaitNATS(ctx, c, r.Unreachable)
		return
	case (r.StartError != nil || r.Error != "") && c.restarted:
		// A process started again that could not start its guest (its
		// module gone, say): a failed restart of this replica, which
		// ends the run no sooner than any other failure of it.
		r, notStarted = &report{Result: &childResult{Result: host.Result{ExitCode: 1, Failures: []host.Failure{failedStart(c, r)}}}}, true
	case r.StartError != nil:
		s.fail(r.StartError)
		return
	case r.Error != "":
		s.fail(fmt.Errorf("%s %s: %s", c.spec.Kind, c.label, r.Error))
		return
	}
	res := r.Result
	s.res.AddFailures(res.Failed, res.Failures...)
	if c.spec.Kind == host.Program {
		s.programs--
		if s.programs == 0 {
			s.programsEnded()
		}
		if res.Stopped && ctx.Err() == nil {
			s.fail(fmt.Errorf("program %s was stopped from outside the run (a signal to its process) before it finished", c.label))
		}
		if s.res.ExitCode == 0 {
			s.res.ExitCode = res.ExitCode
		}
		return
	}
	if res.Stopped && len(res.Failures) == 0 {
		fmt.Fprintf(s.own, "parigot: service %s stopped when told to, after finishing its calls; it is not restarted\n", c.label)
		s.endedForGood(c)
		return
	}
	// The child's own host restarts its guest by its policy; only a child
	// killed from outside, or started again and unable to start, comes
	// back here, by the same policy.
	if f := res.Failures; len(f) == 1 && (f[0].Cause == host.CauseKilled || notStarted) && ctx.Err() == nil {
		if n, ok := s.restart(c); ok {
			wait := s.opts.Backoff.Wait(n, time.Since(c.started))
			fmt.Fprintln(s.own, host.RestartLine(f[0], n, wait))
			s.res.Failures[len(s.res.Failures)-1].Said = true
			c.restarted = true
			s.startAfter(c, wait)
			return
		}
	}
	if !c.ready {
		f := host.Failure{Guest: c.spec.Name, Replica: c.replica, Kind: c.spec.Kind, Cause: host.CauseExited, ExitCode: res.ExitCode}
		if n := len(res.Failures); n > 0 {
			f = res.Failures[n-1]
		}
		s.fail(&host.StartError{Guest: c.spec.Name, Replica: c.replica, Kind: c.spec.Kind, Problem: host.EndedBeforeReady, Failure: &f, Implements: c.spec.Implements})
		return
	}
	// A service down for good: its child's host said so, as single mode's
	// does (host.DownLine), unless it was killed from outside and said
	// nothing, or could not start again.
	if (e.report == nil || notStarted) && ctx.Err() == nil {
		f := &s.res.Failures[len(s.res.Failures)-1]
		f.Said = true
		fmt.Fprintln(s.own, host.DownLine(*f))
	}
	s.endedForGood(c)
}

// endedForGood takes in that c's process, a service's, ended and is not
// started again: when it was the last of its service's processes, the
// service is down for good, and the running children whose guests require
// it are told so (those started later learn it from their hello), so that
// one still waiting for it stops waiting, as single mode's programs never
// wait for a service that is down.
func (s *supervisor) endedForGood(c *child) {
	if !s.downs.Ended(c.spec.Name) {
		return
	}
	for r := range s.running {
		if slices.Contains(r.spec.Requires, c.spec.Name) {
			s.tell(r, notice{Down: c.spec.Name})
		}
	}
}

// tell sends n to c over its link.
func (s *supervisor) tell(c *child, n notice) {
	line, _ := json.Marshal(n)
	c.down.Write(append(line, '\n')) // a child that is gone is reported by its exit
}

// remaining is how many children the run still has: running, or waiting
// to start again.
func (s *supervisor) remaining() int {
	n := len(s.running) + len(s.waiting)
	if s.nats != nil {
		n += len(s.nats.children)
	}
	return n
}

// startAfter starts c's process again once wait has passed: at once
// without a wait; else its timer sends a due event, and the supervisor
// goes on meanwhile with the other children (see startAgain).
func (s *supervisor) startAfter(c *child, wait time.Duration) {
	if wait <= 0 {
		if err := s.start(c); err != nil {
			s.fail(err)
		}
		return
	}
	s.waiting[c] = time.AfterFunc(wait, func() { s.events <- childEvent{c: c, due: true} })
}

// startAgain starts c's process again, its wait over, unless it no
// longer waits (the run is stopping: see stopAll).
func (s *supervisor) startAgain(c *child) {
	if _, ok := s.waiting[c]; !ok {
		return
	}
	delete(s.waiting, c)
	if err := s.start(c); err != nil {
		s.fail(err)
	}
}

// restart counts a restart of c's service, when its policy and the
// service's restarts in the host.RestartWindow allow one, and says which
// restart in that window it is (from 1).
func (s *supervisor) restart(c *child) (n int, ok bool) {
	if !c.spec.Restart.Allows(c.spec.Kind) {
		return 0, false
	}
	r := s.restarts[c.spec.Name]
	if r == nil {
		r = &host.Restarts{}
		s.restarts[c.spec.Name] = r
	}
	return r.Take(time.Now(), s.opts.Backoff.RestartWindow())
}

// grantRestart answers c's host, which asks to restart its guest: which
// restart of the service in the window it is, or none when the service has
// used its restarts.
func (s *supervisor) grantRestart(c *child) {
	g := restartGrant{}
	if n, ok := s.restart(c); ok {
		g.Restart = n
	}
	s.tell(c, notice{Grant: &g})
}

// stopAll sends SIGTERM to every running child (each finishes the calls it
// has, then stops), waits up to StopTimeout, then kills what is left.
func (s *supervisor) stopAll() {
	for c, t := range s.waiting { // they are not started again
		t.Stop()
		delete(s.waiting, c)
	}
	s.stopAwaitingNATS()
	for c := range s.running {
		c.cmd.Process.Signal(syscall.SIGTERM)
	}
	timer := time.NewTimer(s.opts.StopTimeout)
	defer timer.Stop()
	for len(s.running) > 0 {
		select {
		case e := <-s.events:
			if e.exited {
				delete(s.running, e.c)
				e.c.down.Close()
				if e.report != nil && e.report.Result != nil {
					s.res.AddFailures(e.report.Result.Failed, e.report.Result.Failures...)
				}
			}
		case <-timer.C:
			for c := range s.running {
				c.cmd.Process.Kill()
			}
			timer.Reset(s.opts.StopTimeout)
		}
	}
}

// failedStart is the failure of c's process started again, which could
// not start its guest and reported r: how its guest ended when it ended
// before it was ready (a panic, say), as a guest's run restarted in its
// process would fail; else why it did not start.
func failedStart(c *child, r *report) host.Failure {
	f := host.Failure{Guest: c.spec.Name, Replica: c.replica, Kind: c.spec.Kind, Cause: host.CauseNotStarted, Detail: r.Error}
	if se := r.StartError; se != nil {
		if se.Failure != nil {
			f = *se.Failure
			f.Replica = c.replica
			return f
		}
		f.Detail = se.Phrase()
	}
	return f
}

func exitCodeOf(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if code := ee.ExitCode(); code >= 0 {
			return code
		}
	}
	return 1
}

func describe(err error) string {
	if err == nil {
		return "its process exited without saying how its guest ended"
	}
	return err.Error()
}
