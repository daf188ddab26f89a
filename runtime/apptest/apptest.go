package apptest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/internal/diag"
	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/gateway"
	"parigot.dev/parigot/runtime/guest"
	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/internal/native"
	"parigot.dev/parigot/runtime/internal/route"
	"parigot.dev/parigot/runtime/split"
	"parigot.dev/parigot/runtime/state"
)

// Mode is how Start runs the app.
type Mode string

const (
	// Default is the mode `parigot test` sets in EnvMode for this pass;
	// Single when it is unset.
	Default Mode = ""
	// Single runs every service in one host, as `parigot run` does.
	Single Mode = "single"
	// Split runs each service in a host of its own, connected through an
	// embedded NATS server, as `parigot run --mode=split` does.
	Split Mode = "split"
)

// EnvMode is the environment variable `parigot test` sets to the mode of the
// current pass: "single" or "split".
const EnvMode = "PARIGOT_TEST_MODE"

// Timeouts of the harness.
const (
	stopTimeout    = 10 * time.Second // services stopping at the end of the test
	programTimeout = 2 * time.Minute  // one RunProgram
)

// App is a running app. It is a guest.Caller: pass it to the generated
// New<Service>NativeClient functions.
type App struct {
	mode   Mode
	app    *manifest.App
	guests []*host.GuestSpec
	// gateways are the app's gateway blocks, each on a free port (see
	// Gateway)
	gateways []gateway.Spec
	ctx      context.Context // ends when the test's cleanup stops the app
	stop     context.CancelFunc
	caller   *native.Caller
	logs     *testLog

	wg       sync.WaitGroup // the services' hosts
	cleanups []func()       // run last to first when the services have stopped
	mu       sync.Mutex
	problems []string // the services' errors: they fail the test at its end
	// failures are how the services failed, which fail the test at its
	// end unless expected (ExpectFailure)
	failures []host.Failure
	expected []expectedFailure
	// split mode: the services down for good, from the ends of their
	// processes (replicas) while the app runs
	downs *split.Downs

	// single mode: the services' endpoints, which the host hands reg
	reg *native.Registry
	// split mode: the NATS server, and a connection of the harness's own
	server *split.Server
	net    *split.Network

	// single mode: the app's stores and topics, in a directory of the
	// test's own; nil for an app without any
	state *state.Local
	// split mode: the stores and topics the embedded server keeps
	splitState *split.State
	// engine is what the test's store and topic handles use (Store,
	// Topic): state's in single mode, one on a connection of the
	// harness's own in split mode; nil for an app without any
	engine *state.Engine
}

var _ guest.Caller = (*App)(nil)

// Mode is the mode the app runs in: Single or Split.
func (a *App) Mode() Mode { return a.mode }

// Name is the app's name in parigot.hcl.
func (a *App) Name() string { return a.app.Name }

// DefaultTimeoutScale multiplies the app's method budgets in a topology
// test when PARIGOT_TIMEOUT_SCALE is not set.
const DefaultTimeoutScale = 10

// Start builds the app in dir (the directory of its parigot.hcl, relative to
// the test's package directory) if anything is stale, starts its services in
// mode, waits until they are all ready, and returns. The services stop when
// the test ends; one that crashed in the meantime fails the test, unless
// the test expected it (ExpectFailure).
//
// Start skips the test under -short (it compiles and runs wasm), and when
// mode is Single or Split while `parigot test` runs a pass of the other
// mode.
func Start(t testing.TB, dir string, mode Mode) *App {
	t.Helper()
	if testing.Short() {
		t.Skip("apptest: skipped in -short mode: the test builds and runs wasm guests")
	}
	mode = resolveMode(t, mode)
	res, err := build(t.Context(), dir)
	if err != nil {
		t.Fatalf("apptest: building the app in %s:\n%s", dir, renderError(err))
	}
	if err := builder.CheckRunEnv(res.App); err != nil {
		t.Fatalf("apptest: the app in %s:\n%s", dir, renderError(err))
	}
	// A topology test checks what the app does, not how fast a busy
	// machine runs it: without an explicit scale, budgets get room. A test
	// of the budget itself sets PARIGOT_TIMEOUT_SCALE=1.
	guests := host.ScaledGuests(res.App, res.Wasm, host.TimeoutScale(DefaultTimeoutScale))
	a := &App{mode: mode, app: res.App, guests: guests, caller: native.NewCaller(split.NativeCaller), logs: &testLog{t: t}}
	a.gateways, _ = gateway.FromManifest(res.App, "")
	a.ctx, a.stop = context.WithCancel(context.Background())
	t.Cleanup(func() {
		t.Helper() // what the services did wrong is said at the test's line that started them
		a.shutdown(t)
	})

	var services []*host.GuestSpec
	for _, g := range a.guests {
		if g.Kind == host.Service {
			services = append(services, g)
		}
	}
	if mode == Single {
		err = a.startState()
		if err == nil {
			err = a.startSingle(services)
		}
	} else {
		err = a.startSplit(services)
	}
	if err != nil {
		t.Fatalf("apptest: starting %s in %s mode: %v", a.app.Name, mode, err)
	}
	return a
}

// startState starts the app's stores and topics, when it declares any, in
// a fresh directory that the test's end removes: each test starts from
// empty stores, kept in files as a run keeps them.
func (a *App) startState() error {
	if !a.app.HasState() {
		return nil
	}
	dir, err := os.MkdirTemp("", "parigot-apptest-data-")
	if err != nil {
		return err
	}
	a.state, err = state.StartLocal(a.ctx, a.app, dir, false, nil)
	a.cleanups = append(a.cleanups, func() { a.state.Close(); os.RemoveAll(dir) })
	a.engine = a.state.EngineOf()
	return err
}

// record keeps how a host of services ended, for the end of the test.
func (a *App) record(who string, r host.Result, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil && !errors.Is(err, context.Canceled) {
		a.problems = append(a.problems, fmt.Sprintf("%s: %v", who, err))
	}
	a.failures = append(a.failures, r.Failures...)
}

// shutdown stops the services at the end of the test and fails it with
// what went wrong with them.
func (a *App) shutdown(t testing.TB) {
	t.Helper()
	a.stop()
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(stopTimeout):
		t.Errorf("apptest: the services of %s did not stop within %s", a.app.Name, stopTimeout)
	}
	for i := len(a.cleanups) - 1; i >= 0; i-- {
		a.cleanups[i]()
	}
	a.logs.close()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range append(a.problems, a.failuresAtEnd()...) {
		t.Errorf("apptest: %s", p)
	}
}

// errOr describes how a host run ended: its error, else its failures.
func errOr(err error, r host.Result) string {
	if err != nil {
		return err.Error()
	}
	if len(r.Failures) > 0 {
		text := make([]string, len(r.Failures))
		for i, f := range r.Failures {
			text[i] = f.String()
		}
		return strings.Join(text, "; ")
	}
	return fmt.Sprintf("exit code %d", r.ExitCode)
}

// resolveMode turns Default into the mode of this pass, and skips a test
// pinned to the other mode than the pass's.
func resolveMode(t testing.TB, mode Mode) Mode {
	t.Helper()
	env := Mode(os.Getenv(EnvMode))
	switch env {
	case "", Single, Split:
	default:
		t.Fatalf("apptest: %s=%q: the modes are single and split", EnvMode, env)
	}
	switch mode {
	case Default:
		if env == "" {
			return Single
		}
		return env
	case Single, Split:
		if env != "" && env != mode {
			t.Skipf("apptest: this test runs in %s mode only; this pass of parigot test runs %s mode", mode, env)
		}
		return mode
	}
	t.Fatalf("apptest: unknown mode %q: use apptest.Single, apptest.Split or apptest.Default", mode)
	return ""
}

// builds remembers the apps this test binary built, so that the tests of one
// package build each app once.
var builds struct {
	mu   sync.Mutex
	done map[string]*builder.Result
}

func build(ctx context.Context, dir string) (*builder.Result, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if r := builds.done[abs]; r != nil {
		return r, nil
	}
	r, err := builder.Build(ctx, builder.Options{Dir: dir})
	if err != nil {
		return nil, err
	}
	if builds.done == nil {
		builds.done = map[string]*builder.Result{}
	}
	builds.done[abs] = r
	return r, nil
}

// renderError shows a build error as `parigot build` does.
func renderError(err error) string {
	var d *builder.DiagnosticsError
	if errors.As(err, &d) {
		var b bytes.Buffer
		diag.Write(&b, d.Diags, d.Sources, 0, false)
		return b.String()
	}
	return err.Error()
}

// ProgramResult is how a program run by RunProgram ended.
type ProgramResult struct {
	Stdout   string         // what the program printed on stdout, unprefixed
	Stderr   string         // its stderr, and the host's reports about it
	ExitCode int            // its exit code (ExitSelf), 0 when it finished without one
	Failures []host.Failure // how it crashed, if it did
}

// RunProgram runs the app's program name against the running services, and
// returns its output and exit code once it ends. It fails the test if the
// program cannot start or does not end within two minutes.
func (a *App) RunProgram(t testing.TB, name string) ProgramResult {
	t.Helper()
	spec := host.FindGuest(a.guests, name)
	if spec == nil || spec.Kind != host.Program {
		t.Fatalf("apptest: %s has no program named %q", a.app.Name, name)
	}
	ctx, cancel := context.WithTimeout(a.ctx, programTimeout)
	defer cancel()
	var stdout, stderr lines.Buffer
	var res host.Result
	var err error
	if a.mode == Single {
		res, err = host.Run(ctx, host.Config{Guests: []*host.GuestSpec{spec}, Stdout: &stdout, Stderr: &stderr, Remote: a.reg, Plain: true, State: a.state.EngineOf()})
	} else {
		res, err = split.RunChild(ctx, split.ChildOptions{
			App: a.app.Name, Guests: a.guests, Name: name, Conn: a.server.Conn(name),
			Stdout: &stdout, Stderr: &stderr, State: a.splitState,
			// A service that went down for good will never be ready: the
			// program starts without it, as in single mode, and its calls
			// to it fail with unavailable.
			Down: a.downs.Down,
		})
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("apptest: program %s did not end within %s; its stderr:\n%s", name, programTimeout, stderr.String())
	}
	if err != nil {
		t.Fatalf("apptest: running program %s: %v\n%s", name, err, stderr.String())
	}
	return ProgramResult{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: res.ExitCode, Failures: res.Failures}
}

// implemented says whether a service of the app implements service.
func (a *App) implemented(service string) bool {
	for _, s := range a.app.Services {
		if slices.Contains(s.Implements, service) {
			return true
		}
	}
	return false
}

// Call implements guest.Caller: it calls service ("package.Service") method
// with req and decodes the reply into resp. It waits for the reply until
// ctx ends or the service's method budget (its method_timeout) passes, which
// is the deadline a guest's call has too. A failed call returns a
// *guest.Error with the code a guest would see: CodeDeadlineExceeded
// (CodeCanceled) when ctx's deadline passes (ctx is cancelled) first, with
// ctx's error in the chain too.
func (a *App) Call(ctx context.Context, service, method string, req, resp proto.Message) error {
	full := service + "/" + method
	var ep route.Endpoint
	if a.mode == Single {
		ep = a.reg.Service(service)
	} else {
		ep = a.net.Service(service)
	}
	if ep == nil {
		if !a.implemented(service) { // as a guest's Locate would find nothing
			return &guest.Error{Code: guest.CodeUnimplemented, Method: full,
				Message: fmt.Sprintf("no service of %s implements %s (see implements in parigot.hcl)", a.app.Name, service)}
		}
		return &guest.Error{Code: guest.CodeUnavailable, Method: full,
			Message: fmt.Sprintf("the service of %s that implements %s is not running", a.app.Name, service)}
	}
	payload, err := proto.Marshal(req)
	if err != nil {
		return &guest.Error{Code: guest.CodeInvalidArgument, Method: full, Message: "encoding request: " + err.Error()}
	}
	if len(payload) > abi.MaxPayload {
		return &guest.Error{Code: guest.CodeResourceExhausted, Method: full,
			Message: fmt.Sprintf("request of %d bytes is larger than the %d-byte limit", len(payload), abi.MaxPayload)}
	}
	reply, err := a.roundTrip(ctx, ep, full, full, payload)
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(reply, resp); err != nil {
		return &guest.Error{Code: guest.CodeInternal, Method: full, Message: "decoding reply: " + err.Error()}
	}
	return nil
}

// roundTrip delivers a call of method with payload to ep and waits for
// its reply as Call does. It returns the reply's payload, or the error a
// guest's call would get, a *guest.Error naming full ("bank.v1.Accounts/
// Transfer", "store.accounts/Get").
func (a *App) roundTrip(ctx context.Context, ep route.Endpoint, full, method string, payload []byte) ([]byte, error) {
	ev, err := a.caller.Call(ctx, ep, method, payload)
	var de *native.DeadlineError
	if errors.As(err, &de) {
		return nil, &guest.Error{Code: guest.CodeDeadlineExceeded, Method: full, Message: de.Error()}
	}
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		// The test's own deadline or cancel: the code a guest's call
		// whose deadline passed gets, and ctx's error still in the chain.
		return nil, fmt.Errorf("%w (%w)", &guest.Error{Code: guest.CodeOf(ctxErr), Method: full,
			Message: "the call's context ended before the reply"}, ctxErr)
	}
	if err != nil {
		return nil, err
	}
	if ev.Code != abi.CodeOK {
		return nil, guest.ReplyError(full, ev.Code, ev.Payload)
	}
	return ev.Payload, nil
}
