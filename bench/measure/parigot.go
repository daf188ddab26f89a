package measure

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/split"
)

// callGuests are the echo service and the bench program: the program makes
// n calls of test.Echo/EchoProto with a size-byte payload, keeping callers of
// them in flight from its one event loop (a guest is single-threaded: that
// is how it has several calls outstanding), and times them itself.
func (w *Wasm) callGuests(n, size, callers int) []*host.GuestSpec {
	return []*host.GuestSpec{
		{Name: "echo", Kind: host.Service, Wasm: w.path("echo"), Implements: []string{"test.Echo"},
			MethodTimeout: 5 * time.Second, Overrun: host.OverrunReport, Replicas: 1},
		{Name: "bench", Kind: host.Program, Wasm: w.path("bench"), Requires: []string{"echo"}, Replicas: 1,
			Env: []string{fmt.Sprintf("BENCH_N=%d", n), fmt.Sprintf("BENCH_SIZE=%d", size), fmt.Sprintf("BENCH_CONC=%d", callers)}},
	}
}

// Single runs the call benchmark in single mode: both guests in this
// process. Start-up is not in the figures (the guest times its calls).
func Single(ctx context.Context, w *Wasm, n, size, callers int) (Stats, error) {
	var out syncBuffer
	res, err := host.Run(ctx, host.Config{Guests: w.callGuests(n, size, callers), Stdout: &out, Stderr: &out})
	if err != nil || res.ExitCode != 0 {
		return Stats{}, fmt.Errorf("single mode: %v, exit %d\n%s", err, res.ExitCode, out.String())
	}
	return parseGuest(out.String())
}

// envChild makes a process that calls MaybeRunChild host one guest of a
// split-mode benchmark: it holds the JSON of the app's guests.
const envChild = "PARIGOT_BENCH_SPLIT_CHILD"

// MaybeRunChild runs this process as a split-mode child when the benchmark
// started it as one, and exits; otherwise it returns at once. A main or
// TestMain calls it first: the benchmark's children are its own binary.
func MaybeRunChild() {
	spec := os.Getenv(envChild)
	if spec == "" {
		return
	}
	var guests []*host.GuestSpec
	if err := json.Unmarshal([]byte(spec), &guests); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	name := os.Args[len(os.Args)-1]
	res, err := split.RunChild(context.Background(), split.ChildOptions{App: "bench", Guests: guests, Name: name,
		Conn: split.ConnFromEnv(""), Stdout: os.Stdout, Stderr: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(res.ExitCode)
}

// Split runs the call benchmark in split mode, as `parigot run --mode=split`
// does: this process runs the embedded NATS server on loopback and
// supervises two child processes (this same binary, see MaybeRunChild), one
// hosting the echo service and one the bench program. Every call crosses
// NATS twice (request and reply).
func Split(ctx context.Context, w *Wasm, n, size, callers int) (Stats, error) {
	guests := w.callGuests(n, size, callers)
	spec, err := json.Marshal(guests)
	if err != nil {
		return Stats{}, err
	}
	exe, err := os.Executable()
	if err != nil {
		return Stats{}, err
	}
	old, had := os.LookupEnv(envChild)
	os.Setenv(envChild, string(spec))
	defer func() {
		if had {
			os.Setenv(envChild, old)
		} else {
			os.Unsetenv(envChild)
		}
	}()
	var out, errOut syncBuffer
	res, err := split.Supervise(ctx, split.Options{App: "bench", Guests: guests, Executable: exe,
		ChildArgs: func(g string) []string { return []string{g} }, Stdout: &out, Stderr: &errOut})
	if err != nil || res.ExitCode != 0 {
		return Stats{}, fmt.Errorf("split mode: %v, exit %d %v\n%s%s", err, res.ExitCode, res.Failures, out.String(), errOut.String())
	}
	return parseGuest(out.String())
}

// FirstCall runs examples/helloworld in single mode with the given wazero
// compilation cache directory and returns how long it took from the start of
// host.Run until the program printed the greeting, i.e. until its first call
// had completed: compiling or loading both guests, starting the service,
// starting the program, and one call.
func FirstCall(ctx context.Context, w *Wasm, cacheDir string) (time.Duration, error) {
	guests := []*host.GuestSpec{
		{Name: "greeting", Kind: host.Service, Wasm: w.path("greeting"), Implements: []string{"greeting.v1.Greeting"},
			MethodTimeout: 50 * time.Millisecond},
		{Name: "hello", Kind: host.Program, Wasm: w.path("hello"), Requires: []string{"greeting"}},
	}
	first := &firstLine{}
	var errOut syncBuffer
	start := time.Now()
	first.start = start
	res, err := host.Run(ctx, host.Config{Guests: guests, Stdout: first, Stderr: &errOut, CacheDir: cacheDir})
	if err != nil || res.ExitCode != 0 {
		return 0, fmt.Errorf("helloworld: %v, exit %d\n%s", err, res.ExitCode, errOut.String())
	}
	if first.at == 0 {
		return 0, fmt.Errorf("helloworld printed nothing")
	}
	return first.at, nil
}

// firstLine records when the first line containing "Hello" was written.
type firstLine struct {
	mu    sync.Mutex
	start time.Time
	at    time.Duration
}

func (f *firstLine) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.at == 0 && bytes.Contains(p, []byte("Hello")) {
		f.at = time.Since(f.start)
	}
	return len(p), nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)
