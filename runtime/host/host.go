package host

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"parigot.dev/parigot/internal/compcache"
	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/egress"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/internal/route"
	"parigot.dev/parigot/runtime/observe"
	"parigot.dev/parigot/runtime/state"
)

// Kind says whether a guest serves calls forever or runs to completion.
type Kind int

const (
	Service Kind = iota + 1
	Program
)

func (k Kind) String() string {
	if k == Program {
		return "program"
	}
	return "service"
}

// OverrunPolicy says what happens to a service whose method runs past its
// budget plus the grace (see Grace).
type OverrunPolicy int

const (
	// OverrunStop stops the guest and fails the calls it had with
	// unavailable.
	OverrunStop OverrunPolicy = iota
	// OverrunReport only reports the overrun; callers still get their
	// deadline-exceeded errors, and the method runs on. It cannot stall the
	// other guests: every guest is compiled interruptible.
	OverrunReport
)

// RestartPolicy says whether a service that crashed or was stopped for an
// overrun comes back.
type RestartPolicy int

const (
	RestartNever     RestartPolicy = iota // leave it down: its callers get "unavailable"
	RestartOnFailure                      // start it again, up to MaxRestarts times in a RestartWindow
)

// MaxRestarts bounds the restarts of one service within a RestartWindow.
const MaxRestarts = 3

// RestartWindow is the span in which a service may be restarted
// MaxRestarts times. A service that fails a fourth time within it is
// failing in a loop, or too often to be left to restarts, and stays down; a
// service that fails now and then, over a run of weeks, is restarted each
// time. Ten minutes holds any loop of failures (three restarts take 1.25s
// of backoff, and a few seconds of starting), yet is short next to a run
// that serves for days, whose fourth failure of the week must not be its
// last.
const RestartWindow = 10 * time.Minute

// Allows reports whether a guest of kind that failed may come back by its
// policy; Restarts.Take says whether its service has restarts left.
func (p RestartPolicy) Allows(kind Kind) bool {
	return p == RestartOnFailure && kind == Service
}

// Restarts counts the restarts of one service (all its replicas): the one
// home of the rule that bounds them, for both modes. The zero Restarts has
// none; it is not safe for concurrent use.
type Restarts struct {
	at []time.Time // the restarts within the window of the latest, oldest first
}

// Take counts a restart at now, unless MaxRestarts came within window
// (Backoff.RestartWindow) before now, and says which restart in that window
// it is (from 1).
func (r *Restarts) Take(now time.Time, window time.Duration) (n int, ok bool) {
	recent := r.at[:0]
	for _, t := range r.at {
		if now.Sub(t) < window {
			recent = append(recent, t)
		}
	}
	r.at = recent
	if len(r.at) >= MaxRestarts {
		return len(r.at), false
	}
	r.at = append(r.at, now)
	return len(r.at), true
}

// RestartLine is what the host prints when it restarts a guest after f, the
// n-th time (from 1), once it has waited wait (see Backoff).
func RestartLine(f Failure, n int, wait time.Duration) string {
	if wait > 0 {
		return fmt.Sprintf("parigot: %s; restarting it in %s (%d of %d)", f, wait, n, MaxRestarts)
	}
	return fmt.Sprintf("parigot: %s; restarting it (%d of %d)", f, n, MaxRestarts)
}

// Backoff says how long a service that failed waits before it is started
// again: the one home of that rule, for both modes (a split-mode child's
// host, and its supervisor when it starts a killed child again). The zero
// Backoff is the default:
//
//   - The first restart of a service in a run comes at once: a crash after
//     it served a while is most often a bug that one request hit, and the
//     service should be back before its callers notice.
//   - The second comes after 250ms and the third after 1s: a service that
//     fails again at once fails for a reason that may pass (a service or a
//     NATS server it needs being restarted, a database not up yet), and
//     without a wait it would use its three restarts within milliseconds,
//     before anything had a chance to pass. 250ms covers a process or a
//     NATS server coming back on the same machine; 1s gives it four times
//     more. Together they stay short next to the ready timeout (30s) and a
//     person watching: a service that panics in main is reported as not
//     starting 1.25s later than without waits.
//   - A failure after a run of at least 10s is restarted at once, whatever
//     restart it is: the service started and served, so it is not failing
//     in a loop; 10s is far longer than a guest takes to start (a fraction
//     of a second from the compilation cache), yet short enough that a
//     service that crashes every minute never waits.
//
// While it waits, the service is down as between any failure and its
// restart: calls to it fail at once with unavailable. The wait ends at once
// when the run stops (and then there is no restart), and when parigot dev
// brings a new build of the service.
type Backoff struct {
	// Waits[n-1] is the wait before the n-th restart of a service in a
	// run, the last one before any later restart. Empty: the default
	// (0, 250ms, 1s); one zero: no wait ever (tests that restart a
	// service many times quickly).
	Waits []time.Duration `json:"waits,omitempty"`
	// Healthy is how long a run of the service must have lasted for its
	// failure to be restarted at once. Zero: 10s.
	Healthy time.Duration `json:"healthy,omitempty"`
	// Window is the span in which a service may be restarted MaxRestarts
	// times. Zero: RestartWindow.
	Window time.Duration `json:"window,omitempty"`
}

// RestartWindow is b.Window unless it is zero.
func (b Backoff) RestartWindow() time.Duration {
	if b.Window > 0 {
		return b.Window
	}
	return RestartWindow
}

// DefaultHealthyRun is Backoff.Healthy unless it says otherwise.
const DefaultHealthyRun = 10 * time.Second

// Wait is how long a service waits before its n-th restart in a run (from
// 1), after a run of it that lasted ran.
func (b Backoff) Wait(n int, ran time.Duration) time.Duration {
	healthy := b.Healthy
	if healthy <= 0 {
		healthy = DefaultHealthyRun
	}
	if n < 1 || ran >= healthy {
		return 0
	}
	if len(b.Waits) > 0 {
		return max(0, b.Waits[min(n, len(b.Waits))-1])
	}
	switch n {
	case 1:
		return 0
	case 2:
		return 250 * time.Millisecond
	}
	return time.Second
}

// DefaultMemoryLimit is a guest's memory limit when its spec gives none.
const DefaultMemoryLimit = 256 << 20

// Inbox bounds when a spec gives none: the calls, and the bytes of their
// requests, that may wait for a service; and the bytes of replies that may
// wait for any guest to read them.
const (
	DefaultInboxCalls = manifest.DefaultInboxCalls
	DefaultInboxBytes = manifest.DefaultInboxBytes
)

// Grace is how long past its budget a method may run before the host acts:
// the budget again, but at least 20ms.
func Grace(budget time.Duration) time.Duration { return route.Grace(budget) }

// GuestSpec describes one guest of the app.
type GuestSpec struct {
	Name          string
	Kind          Kind
	Wasm          string        // path of the compiled guest
	Implements    []string      // full proto names of the services it serves
	Requires      []string      // names of the services it calls
	MethodTimeout time.Duration // budget of each of its methods: callers' deadline
	Replicas      int           // split mode: processes serving it (services only)
	Env           []string      // KEY=VALUE pairs the guest sees as its environment
	MemoryLimit   uint64        // bytes of linear memory the guest may use; 0: DefaultMemoryLimit
	// InboxCalls bounds the calls waiting for the guest; 0: DefaultInboxCalls.
	InboxCalls int
	// InboxBytes bounds the bytes of the requests waiting for the guest, and
	// of the replies waiting for it to read them; 0: DefaultInboxBytes.
	InboxBytes int
	Overrun    OverrunPolicy
	Restart    RestartPolicy
	// Debug, when set, is the path of the guest's native build (the host's
	// GOOS and GOARCH, optimisations off): the guest then runs under Delve
	// instead of as wasm, with its budget suspended (see DebugBudget).
	Debug string
	// DebugListen is the address Delve serves its API on, for a debugger
	// to attach to. Empty: 127.0.0.1 and a free port, announced.
	DebugListen string
	// Uses lists the stores, topics and http endpoints the guest may
	// open, as "store.<name>", "topic.<name>" and "http.<name>".
	Uses []string
	// HTTP lists every http endpoint the app declares, with the URL and
	// timeout it has in this run (so that opening one the app does not
	// declare is told from opening one the guest's Uses does not list):
	// the same list in every guest's spec (GuestsFromManifest shares
	// one). The run makes one client per endpoint, which all its guests
	// share; specs that list an endpoint otherwise are an error.
	//
	// It is here, not in Config, because a GuestSpec is what every way
	// of running guests hands on (split mode's children, the gateway's
	// runs, apptest), and each would otherwise have to carry the list
	// beside it, or its guests would find no endpoint.
	HTTP []egress.Spec
	// Subscriptions deliver topics' messages to the service's methods.
	Subscriptions []state.Subscription
}

func memoryLimit(s *GuestSpec) uint64 {
	if s.MemoryLimit == 0 {
		return DefaultMemoryLimit
	}
	return s.MemoryLimit
}

// guestEnv is the environment a wasm guest runs with: its spec's, and
// what tunes a Go guest's collector to its memory limit, which Go's
// runtime cannot see from inside wasm. GOMEMLIMIT, three quarters of the
// limit (the rest is room for the module's own data and the runtime's),
// has the collector work harder as the heap nears it, where it would
// otherwise let the heap reach twice what is live and run out of memory.
// GOGC, since the collector then need not be eager for memory's sake,
// collects less often than Go's default (see guestGOGC). A spec that sets
// either keeps its own.
func guestEnv(s *GuestSpec) []string {
	env := slices.Clone(s.Env)
	set := func(key, value string) {
		if !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, key+"=") }) {
			env = append(env, key+"="+value)
		}
	}
	limit := memoryLimit(s)
	set("GOMEMLIMIT", strconv.FormatUint(limit/4*3, 10))
	set("GOGC", strconv.FormatUint(guestGOGC(limit), 10))
	return env
}

// guestGOGC is a guest's GOGC unless its spec sets one (see guestEnv):
// 400 (collections are costly inside wasm, and a guest's heap is small;
// docs/BENCHMARKS.md, "The guests' collector"), but less under a small
// memory limit, down to Go's own 100 at 16 MiB, so that the smallest heap
// the collector lets a guest reach before it collects (4 MiB at GOGC=100,
// in proportion above) is a quarter of the limit at most.
//
// GOMEMLIMIT alone does not keep a heap of garbage under the limit inside
// wasm. A wasm memory never shrinks, and Go's runtime counts the pages it
// gives back as returned, though they stay in the guest's memory; its
// heap does not move, so a large allocation that finds no run of free
// pages long enough grows the memory, whatever the limit. A guest whose
// heap waits to be collected until it reaches GOMEMLIMIT is then one
// large allocation from the limit: under a 24 MiB limit, a service
// answering 2 MB replies ran out of memory at its 11th call with GOGC at
// 400, and answered all 30 with 150
// (TestAServiceAnsweringLargeCallsKeepsUnderItsMemoryLimit).
func guestGOGC(limit uint64) uint64 {
	return min(400, max(100, 100*limit/(16<<20)))
}

// Inbox returns the bounds of s's inbox, its defaults applied: the calls,
// and the bytes of their requests, that may wait for its guest. Split
// mode holds to them the calls that wait to be read from the NATS server
// too.
func (s *GuestSpec) Inbox() (calls, bytes int) {
	calls, bytes = s.InboxCalls, s.InboxBytes
	if calls <= 0 {
		calls = DefaultInboxCalls
	}
	if bytes <= 0 {
		bytes = DefaultInboxBytes
	}
	return calls, bytes
}

// Config is what Run needs to run an app.
type Config struct {
	Guests []*GuestSpec // in start order: every service after those it requires
	Stdout io.Writer    // guests' stdout, each line prefixed with the guest's name
	Stderr io.Writer    // guests' stderr, likewise; also the host's own reports
	// PrefixWidth is the least width of the guests' name prefixes, for a
	// run of some of an app's guests whose lines mix with those of the
	// others' run (the gateway's services and programs): the longest of
	// all their names. Zero: the longest of Guests' names.
	PrefixWidth int
	// CacheDir holds wazero's compilation cache. Empty: DefaultCacheDir().
	CacheDir string
	// ReadyTimeout bounds how long a service may take to become ready.
	// Zero: DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// StopTimeout bounds how long services get to stop once the programs have
	// ended. Zero: 2 seconds.
	StopTimeout time.Duration
	// DrainTimeout bounds how long, once ctx is cancelled (Ctrl-C, SIGTERM),
	// services get to finish the calls they have before they are stopped.
	// Zero: 2 seconds.
	DrainTimeout time.Duration
	Logger       *slog.Logger
	// Remote connects these guests to guests in other processes. Package
	// split and the topology-test harness set it; nil: every service is one
	// of Guests.
	Remote route.Remote
	// Plain leaves guest output lines unprefixed (a split-mode child's parent
	// adds the prefix).
	Plain bool
	// Replica is which replica of its guest this host runs, in split mode
	// (from 1; 0 when there is one): failures name it.
	Replica int
	// Ready, when set, is called once each service is ready (a split-mode
	// child tells its supervisor).
	Ready func(guest string)
	// Restart, when set, counts the restarts of the run's services in its
	// place: called when a service failed and its policy allows a restart,
	// it returns which restart of the service this is (from 1), or false
	// when the service has used its restarts, which the replicas of a
	// service share. A split-mode child asks its supervisor, which counts
	// those of every process of the service. Nil: the run counts them.
	Restart func() (n int, ok bool)
	// Backoff is how long a service that failed waits before each
	// restart; the zero Backoff is the default (see Backoff).
	Backoff Backoff
	// Progress, when set, hears how compiling the guests to native code
	// goes: a line for each that took a while, and, while they compile, a
	// status line (Live: Progress is a terminal) or a "still compiling" line
	// every few seconds.
	Progress io.Writer
	Live     bool
	// Delve is the dlv command that runs the guests with a Debug build.
	// Empty: dlv, found on PATH.
	Delve string
	// Reloads, when set, makes the run one that takes new builds of its
	// guests while it runs (parigot dev): services keep serving when the
	// programs end, each Reload swaps in the guests it names and runs again
	// the programs that had ended, and the run lasts until ctx ends.
	Reloads <-chan Reload

	// State holds the app's stores and topics; nil when it declares none
	// (a guest that opens one is then told it does not exist). The caller
	// opens and closes it; Run subscribes its services to their topics
	// once they are ready, and stops their subscriptions before they stop.
	State *state.Engine

	// Metrics, when set, counts the guests' calls, restarts, inbox depths
	// and memory (parigot run --dashboard); nil costs nothing.
	Metrics *observe.Metrics
	// LogJSON writes every line of the guests' output, and the host's own
	// reports, as one JSON object (--log-format json): guest, stream, and
	// the method, trace and span of the call the guest was serving when it
	// wrote the line, where known (trace and span need Tracing).
	LogJSON bool
	// MarkSaid, without LogJSON: the host is a split-mode child, whose
	// Stderr reaches its supervisor. It starts each line of its own (its
	// reports, and its Logger's records when it makes the Logger) with
	// lines.Said, which the supervisor writes unprefixed, as single mode
	// writes them; a guest's line that starts with lines.Said is escaped.
	MarkSaid bool
	// Lines, when set, also gets every line of the guests' output as the
	// JSON record LogJSON would write (the dashboard's logs).
	Lines func(record []byte)
	// Tracing, when set, makes a span of every call the guests answer
	// (--otlp, --dashboard); nil costs nothing.
	Tracing *observe.Tracing

	// checks is how the guests are made interruptible: fuel, unless a
	// benchmark compares it with the other ways.
	checks checks
	// afterStopDecided, when set (by tests only), runs on the watchdog's
	// goroutine between its decision to stop a guest for an overrun and
	// the stop: a seam to let the guest's run end by itself in that
	// window.
	afterStopDecided func(*instance)
}

// checks is a way to make guests interruptible.
type checks int

const (
	checksFuel   checks = iota // internal/fuel's counter (how guests run)
	checksWazero               // wazero's close-on-context-done
	checksNone                 // none: a guest that loops stalls the host; for measuring the others' cost only
)

// DefaultReadyTimeout is how long a service may take to become ready
// unless Config.ReadyTimeout says otherwise.
const DefaultReadyTimeout = 30 * time.Second

// markSaid reports whether the host marks its own lines (see MarkSaid).
func (cfg Config) markSaid() bool { return cfg.MarkSaid && !cfg.LogJSON }

// withDefaults fills in what cfg leaves zero.
func (cfg Config) withDefaults() Config {
	if cfg.Logger == nil {
		w := cfg.Stderr
		if cfg.markSaid() {
			w = lines.SaidWriter(w)
		}
		cfg.Logger = OwnLogger(w, cfg.LogJSON)
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = DefaultReadyTimeout
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 2 * time.Second
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 2 * time.Second
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = DefaultCacheDir()
	}
	return cfg
}

// FailuresKept is how many failures a run keeps of each guest: its
// latest. A service is restarted for as long as it fails no more than
// MaxRestarts times in a RestartWindow, so over a run of weeks its
// failures have no bound; the latest say what went wrong.
const FailuresKept = MaxRestarts + 1

// AppendFailures is fs with add appended, and of each guest only its
// latest FailuresKept failures, in order: the one home of that bound, for
// both modes.
func AppendFailures(fs []Failure, add ...Failure) []Failure {
	fs = append(fs, add...)
	if len(fs) <= FailuresKept {
		return fs
	}
	seen := make(map[string]int)
	keep := make([]bool, len(fs))
	for i := len(fs) - 1; i >= 0; i-- {
		seen[fs[i].Guest]++
		keep[i] = seen[fs[i].Guest] <= FailuresKept
	}
	out := fs[:0]
	for i, f := range fs {
		if keep[i] {
			out = append(out, f)
		}
	}
	clear(fs[len(out):])
	return out
}

// Result is how a run ended.
type Result struct {
	ExitCode int       // the programs' exit code: the first non-zero one, else 0
	Failures []Failure // guests that crashed or overran, restarts included, in the order they failed: of each guest, its latest FailuresKept (AppendFailures)
	Failed   int       // how many times the guests failed during the run, restarts included: every failure, of which Failures keeps the latest
}

// AddFailures takes in fs, the latest of failed failures (a count below
// len(fs), as a host that kept no count reports, is taken as len(fs)):
// Failures keeps its bound (AppendFailures) and Failed counts them all.
func (r *Result) AddFailures(failed int, fs ...Failure) {
	r.Failures = AppendFailures(r.Failures, fs...)
	r.Failed += max(failed, len(fs))
}

// FailedTimes is how many times the guests failed during the run: Failed,
// or the failures kept when the result was made without a count.
func (r Result) FailedTimes() int {
	return max(r.Failed, len(r.Failures))
}

// DefaultCacheDir is where compiled guests are cached between runs:
// $PARIGOT_CACHE_DIR/wazero, else the user cache directory's parigot/wazero.
// At most once an hour it first prunes the cache by its size and age limits
// (package compcache: PARIGOT_CACHE_MAX_SIZE, PARIGOT_CACHE_MAX_AGE).
func DefaultCacheDir() string {
	return compcache.Prepare()
}

// Run runs an app: it compiles every guest, starts the services one at a
// time in requires order (each ready before the next), then the programs,
// and waits until the programs have ended; then it stops the services. With
// no program among Guests (a split-mode child hosting a service), it serves
// until ctx is cancelled or a service ends for good.
//
// Cancelling ctx stops everything: services first finish the calls they
// have, for up to DrainTimeout. The error is a *StartError when a guest
// could not start, ctx's error when it was cancelled, and nil otherwise;
// crashes while running are in Result.Failures.
func Run(ctx context.Context, cfg Config) (Result, error) {
	r, err := newRun(cfg.withDefaults())
	if err != nil {
		return Result{}, err
	}
	defer r.close()

	// 1. Compile every guest, in parallel. From the compilation cache this
	// takes a fraction of a second; the first time, seconds per guest.
	if err := r.load(ctx); err != nil {
		return Result{}, err
	}
	// 2. Watch for methods that overrun their budget.
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	go r.watch(watchCtx)

	// 3. Start the services, in requires order.
	if err := r.startServices(ctx); err != nil {
		r.stopAll()
		return r.res, err
	}
	// 4. Run the programs to their end, or serve until stopped.
	switch {
	case cfg.Reloads != nil:
		r.develop(ctx)
	case len(r.programs) == 0:
		r.serve(ctx)
	default:
		r.runPrograms(ctx)
	}
	// 5. Stop what still runs; report methods that were overrunning.
	r.reportLateOverruns()
	r.stopAll()
	return r.res, r.err
}
