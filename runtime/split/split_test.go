package split

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"parigot.dev/parigot/internal/testguest"
	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/observe"
)

// The test binary doubles as the split-mode child process: Supervise starts
// it with envChild set to the JSON of the app's guests.
const envChild = "PARIGOT_SPLIT_TEST_CHILD"

// envChildState, when set, holds the JSON of the app's State for the child.
const envChildState = "PARIGOT_SPLIT_TEST_CHILD_STATE"

// For a child a test starts itself, without a supervisor (and so without
// a link): envChildSeed holds its guest's nkey seed, for the test's own
// server (whose URL is in EnvURL); envChildNATSOnly, when set, keeps its
// calls on NATS (ChildOptions.NATSOnly); envChildMetrics, when set, names
// a file where it writes the URL of its /metrics.
const (
	envChildSeed     = "PARIGOT_SPLIT_TEST_CHILD_SEED"
	envChildNATSOnly = "PARIGOT_SPLIT_TEST_CHILD_NATS_ONLY"
	envChildMetrics  = "PARIGOT_SPLIT_TEST_CHILD_METRICS"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(envSupervisor); spec != "" {
		os.Exit(runTestSupervisor(spec))
	}
	if spec := os.Getenv(envChild); spec != "" {
		os.Exit(runTestChild(spec, os.Args[len(os.Args)-1]))
	}
	testguest.Main(m)
}

func runTestChild(spec, name string) int {
	var guests []*host.GuestSpec
	if err := json.Unmarshal([]byte(spec), &guests); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var st *State
	if js := os.Getenv(envChildState); js != "" {
		st = new(State)
		if err := json.Unmarshal([]byte(js), st); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	ctx, stop := signalContext()
	defer stop()
	tracing := childTracing(name)
	defer shutdownTracing(tracing)
	conn := ConnFromEnv("")
	conn.Seed = os.Getenv(envChildSeed)
	var metrics *observe.Metrics
	if path := os.Getenv(envChildMetrics); path != "" {
		metrics = observe.NewMetrics()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		go http.Serve(ln, metrics.Handler())
		if err := os.WriteFile(path, []byte("http://"+ln.Addr().String()+"/metrics"), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	res, err := RunChild(ctx, ChildOptions{App: "test", Guests: guests, Name: name, Conn: conn, Stdout: os.Stdout, Stderr: os.Stderr,
		ReadyTimeout: patience, State: st, Tracing: tracing, Metrics: metrics, NATSOnly: os.Getenv(envChildNATSOnly) != ""})
	if errors.As(err, new(*ReportedError)) {
		return 1
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return res.ExitCode
}

// patience is how long a test waits for something that must happen: so
// long that no busy machine reaches it (compiling guests included), so that
// reaching it means the thing never happens. A run as a whole has no bound
// but go test's -timeout.
const patience = 2 * time.Minute

var buildGuests = sync.OnceValues(func() (string, error) {
	return testguest.Build(map[string]string{
		"echo":        "../host/testdata/guests/echo",
		"caller":      "../host/testdata/guests/caller",
		"loader":      "../host/testdata/guests/loader",
		"faulty":      "../host/testdata/guests/faulty",
		"faultcaller": "../host/testdata/guests/faultcaller",
		"chain":       "../host/testdata/guests/chain",
		"chaincaller": "../host/testdata/guests/chaincaller",
		"ticker":      "./testdata/guests/ticker",
		"rounds":      "./testdata/guests/rounds",
		"stateful":    "../host/testdata/guests/stateful",
	})
})

// skipUnderRace skips, with the race detector on, a test whose work is
// done in its guests' processes and whose assertions are on what they
// print (the same output in both modes, a chain of deadlines, what
// compiling says): the detector sees only this process, where such a test
// only waits, several times slower; the race run has the tests of this
// process's own concurrency to look at, and the others run without it.
func skipUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("its work is in other processes, which the race detector does not see")
	}
}

func testGuests(t *testing.T, replicas int) []*host.GuestSpec {
	t.Helper()
	if testing.Short() {
		t.Skip("builds wasm guests and starts processes")
	}
	dir, err := buildGuests()
	if err != nil {
		t.Fatal(err)
	}
	return []*host.GuestSpec{
		{Name: "echo", Kind: host.Service, Wasm: filepath.Join(dir, "echo.wasm"), Implements: []string{"test.Echo"},
			MethodTimeout: 2 * time.Second, Replicas: replicas},
		{Name: "ticker", Kind: host.Program, Wasm: filepath.Join(dir, "ticker.wasm"), Requires: []string{"echo"}, Replicas: 1},
	}
}

// supervise runs guests split into processes (this test binary as child).
// watch, when not nil, sees every write to the run's stdout.
func supervise(t *testing.T, guests []*host.GuestSpec, started func(label string, pid int), watch func(p []byte)) (host.Result, string, string) {
	t.Helper()
	res, stdout, stderr, err := superviseWith(t, guests, Options{Started: started}, watch)
	if err != nil {
		t.Fatalf("Supervise: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	return res, stdout, stderr
}

// superviseWith runs guests split into processes (this test binary as
// child) with opts' NATS settings, and returns Supervise's error; watch, when
// not nil, sees every write to the run's stdout.
func superviseWith(t *testing.T, guests []*host.GuestSpec, opts Options, watch func(p []byte)) (host.Result, string, string, error) {
	t.Helper()
	return superviseWatching(t.Context(), t, guests, opts, watch, nil)
}

// superviseWatching is superviseWith until ctx ends, with watchErr, when
// not nil, seeing every write to the run's stderr.
func superviseWatching(ctx context.Context, t *testing.T, guests []*host.GuestSpec, opts Options, watch, watchErr func(p []byte)) (host.Result, string, string, error) {
	t.Helper()
	spec, _ := json.Marshal(guests)
	t.Setenv(envChild, string(spec))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr lines.Buffer
	opts.App, opts.Guests, opts.Executable = "test", guests, exe
	opts.ChildArgs = func(g string) []string { return []string{g} }
	opts.Stdout, opts.Stderr = watchWriter{&stdout, watch}, watchWriter{&stderr, watchErr}
	res, err := Supervise(ctx, opts)
	return res, stdout.String(), stderr.String(), err
}

// watchWriter hands what is written to w to watch too.
type watchWriter struct {
	w     io.Writer
	watch func(p []byte)
}

func (w watchWriter) Write(p []byte) (int, error) {
	if w.watch != nil {
		w.watch(p)
	}
	return w.w.Write(p)
}

func TestSplitModeRunsAProgramAgainstAServiceInAnotherProcess(t *testing.T) {
	res, out, errOut := supervise(t, testGuests(t, 1), nil, nil)
	if res.ExitCode != 0 || len(res.Failures) != 0 {
		t.Fatalf("exit %d failures %v\nstdout:\n%s\nstderr:\n%s", res.ExitCode, res.Failures, out, errOut)
	}
	for _, want := range []string{"ticker | call 0: ok", "ticker | call 39: ok", "ticker | done: ok=40 failed=0", "ticker | replicas: 1"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

func TestReplicasShareTheCalls(t *testing.T) {
	res, out, errOut := supervise(t, testGuests(t, 3), nil, nil)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", res.ExitCode, out, errOut)
	}
	if !strings.Contains(out, "ticker | replicas: 3\n") && !strings.Contains(out, "ticker | replicas: 2\n") {
		t.Errorf("20 calls over 3 replicas reached fewer than 2 of them:\n%s", out)
	}
}

func TestKillingAServiceFailsItsCallersCleanlyAndIsReported(t *testing.T) {
	guests := testGuests(t, 1)
	// The children make their sockets in the temporary directory: the
	// killed one cannot remove its own, and nothing of the run may stay.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	// The service is killed once the ticker is a few calls in, however
	// long the machine took to get there.
	var echoPid atomic.Int64
	var once sync.Once
	res, out, errOut := supervise(t, guests, func(label string, pid int) {
		if label == "echo" {
			echoPid.Store(int64(pid))
		}
	}, func(p []byte) {
		if bytes.Contains(p, []byte("ticker | call 3: ok")) {
			once.Do(func() { syscall.Kill(int(echoPid.Load()), syscall.SIGKILL) })
		}
	})
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("the run left %q in the temporary directory", names)
	}
	if !strings.Contains(out, "ticker | done:") {
		t.Fatalf("the program did not finish its calls after the service died:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
	if !strings.Contains(out, "unavailable: service echo is not running") {
		t.Errorf("no call failed with unavailable after the kill:\n%s", out)
	}
	// The call in flight when the process died can only end at its
	// deadline; every later one must fail at once.
	if n := strings.Count(out, "deadline exceeded"); n > 1 {
		t.Errorf("%d calls to a dead service waited for their deadline instead of failing at once:\n%s", n, out)
	}
	if len(res.Failures) != 1 || res.Failures[0].String() != "service echo was killed (signal: killed)" {
		t.Errorf("failures = %q, want service echo named", res.Failures)
	}
}

func TestAnOverrunningServiceProcessEndsAndIsRestarted(t *testing.T) {
	guests := testGuests(t, 1)
	echo := guests[0]
	echo.MethodTimeout = 50 * time.Millisecond
	echo.Restart = host.RestartOnFailure
	caller := &host.GuestSpec{Name: "spincaller", Kind: host.Program, Wasm: filepath.Join(filepath.Dir(echo.Wasm), "caller.wasm"), Requires: []string{"echo"}}
	res, out, errOut := supervise(t, []*host.GuestSpec{echo, caller}, nil, nil)
	for _, want := range []string{
		"spincaller | Spin: test.Echo/Spin: deadline exceeded: no reply from service echo within its method budget of 50ms",
		"spincaller | Echo after restart: ok",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("stdout lacks %q:\n%s\nstderr:\n%s", want, out, errOut)
		}
	}
	// Said by the child's host, and written as single mode writes it.
	for _, said := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^parigot: service echo: method test.Echo/Spin ran for [0-9.]+m?s, over its budget of 50ms; stopping it\. A method that needs longer: `),
		regexp.MustCompile(`(?m)^parigot: service echo was stopped: method test.Echo/Spin ran for [0-9.]+m?s, over its budget of 50ms; restarting it \(1 of 3\)$`),
	} {
		if !said.MatchString(errOut) {
			t.Errorf("stderr lacks a line matching %s, unprefixed:\n%s", said, errOut)
		}
	}
	if res.ExitCode != 0 || len(res.Failures) != 1 {
		t.Errorf("exit %d, failures %q; want 0 and the overrun", res.ExitCode, res.Failures)
	}
}

func TestAServiceThatDiesBeforeItIsReadyEndsTheRunAtOnce(t *testing.T) {
	guests := testGuests(t, 1)
	// The caller program, hosted as if it were the echo service: it never
	// reports ready, and exits 1 when it cannot locate what it wants.
	guests[0].Wasm = filepath.Join(filepath.Dir(guests[0].Wasm), "caller.wasm")
	spec, _ := json.Marshal(guests)
	t.Setenv(envChild, string(spec))
	exe, _ := os.Executable()
	var stdout, stderr lines.Buffer
	// Had the run waited for the program's readiness timeout (patience, in
	// runTestChild) instead of ending when the service died, it would end
	// with another error, after minutes.
	_, err := Supervise(t.Context(), Options{
		App: "test", Guests: guests, Executable: exe,
		ChildArgs: func(g string) []string { return []string{g} },
		Stdout:    &stdout, Stderr: &stderr,
	})
	if err == nil || err.Error() != "service echo ended before it was ready: exited with code 1" {
		t.Errorf("err = %v, want the service named as dying before it was ready\nstderr:\n%s", err, stderr.String())
	}
}

// TestAProgramCompletesWhenAClusterNodeDies spreads the guests over a
// three-node NATS cluster and kills the node the service is connected to.
func TestAProgramCompletesWhenAClusterNodeDies(t *testing.T) {
	guests := testGuests(t, 1)
	nodes := startCluster(t, 3)
	urls := make([]string, len(nodes))
	for i, n := range nodes {
		urls[i] = n.ClientURL()
	}
	ctx := t.Context()
	var echoOut, tickOut lines.Buffer
	echoCtx, stopEcho := context.WithCancel(ctx)
	echoDone := make(chan error, 1)
	go func() {
		// The service prefers node 0; the program node 2. Both know them all.
		_, err := RunChild(echoCtx, ChildOptions{App: "test", Guests: guests, Name: "echo", ReadyTimeout: patience,
			Conn: Conn{URL: strings.Join([]string{urls[0], urls[1]}, ",")}, Stdout: &echoOut, Stderr: &echoOut})
		echoDone <- err
	}()
	go func() {
		time.Sleep(1500 * time.Millisecond)
		nodes[0].Shutdown()
	}()
	res, err := RunChild(ctx, ChildOptions{App: "test", Guests: guests, Name: "ticker", ReadyTimeout: patience,
		Conn: Conn{URL: strings.Join([]string{urls[2], urls[1]}, ",")}, Stdout: &tickOut, Stderr: &tickOut})
	stopEcho()
	<-echoDone
	if err != nil {
		t.Fatalf("ticker: %v\n%s", err, tickOut.String())
	}
	if res.ExitCode != 0 || !strings.Contains(tickOut.String(), "done:") {
		t.Fatalf("the program did not complete (exit %d):\n%s\necho:\n%s", res.ExitCode, tickOut.String(), echoOut.String())
	}
	if !strings.Contains(tickOut.String(), "call 39: ok") {
		t.Errorf("calls did not succeed again after the node died:\n%s", tickOut.String())
	}
}

func startCluster(t *testing.T, n int) []*server.Server {
	t.Helper()
	return startClusterOf(t, n, func() *server.Options {
		return &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true, MaxPayload: MaxPayload}
	})
}

// startClusterOf starts a cluster of n nodes on loopback, each with the
// options node makes, and returns once their routes are up.
func startClusterOf(t *testing.T, n int, node func() *server.Options) []*server.Server {
	t.Helper()
	var nodes []*server.Server
	var routes []*url.URL
	for i := 0; i < n; i++ {
		opts := node()
		opts.ServerName = fmt.Sprintf("node%d", i)
		opts.Cluster = server.ClusterOpts{Name: "parigot-test", Host: "127.0.0.1", Port: server.RANDOM_PORT}
		opts.Routes = routes
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		if !s.ReadyForConnections(patience) {
			t.Fatalf("node %d did not start", i)
		}
		t.Cleanup(s.Shutdown)
		nodes = append(nodes, s)
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: s.ClusterAddr().String()})
	}
	deadline := time.Now().Add(patience)
	for _, s := range nodes {
		for s.NumRoutes() < n-1 {
			if time.Now().After(deadline) {
				t.Fatalf("the cluster did not form")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nodes
}
