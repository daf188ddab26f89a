// Package measure runs parigot's call benchmarks and their baselines: a
// plain Go function doing the same protobuf work (the floor), a unary
// grpc-go call over loopback (the competitor), parigot in single mode and
// parigot in split mode (separate processes over NATS), plus start-up and
// build figures. The benchmarks in this module and cmd/benchtable share it.
//
// It lives in its own module (parigot.dev/parigot/bench) so that grpc-go
// never becomes a dependency of parigot itself.
package measure

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"parigot.dev/parigot/internal/guestbuild"
)

// Stats are the figures of one run of calls.
type Stats struct {
	Calls int
	Total time.Duration // wall time of all the calls
	P50   time.Duration
	P99   time.Duration
}

// PerSec is the throughput of the run.
func (s Stats) PerSec() float64 {
	if s.Total <= 0 {
		return 0
	}
	return float64(s.Calls) / s.Total.Seconds()
}

func (s Stats) String() string {
	return fmt.Sprintf("calls=%d p50=%s p99=%s calls/s=%.0f", s.Calls, s.P50, s.P99, s.PerSec())
}

// fromLatencies sorts lat and summarises it.
func fromLatencies(lat []time.Duration, total time.Duration) Stats {
	slices.Sort(lat)
	p := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(q*float64(len(lat))))]
	}
	return Stats{Calls: len(lat), Total: total, P50: p(0.50), P99: p(0.99)}
}

// parseGuest reads the line the bench guest prints when it is done.
func parseGuest(out string) (Stats, error) {
	i := strings.Index(out, "calls=")
	if i < 0 {
		return Stats{}, fmt.Errorf("the bench guest printed no figures:\n%s", out)
	}
	var calls, total, p50, p99 int64
	if _, err := fmt.Sscanf(out[i:], "calls=%d total_ns=%d p50_ns=%d p99_ns=%d", &calls, &total, &p50, &p99); err != nil {
		return Stats{}, fmt.Errorf("reading the bench guest's figures: %v\n%s", err, out)
	}
	return Stats{Calls: int(calls), Total: time.Duration(total), P50: time.Duration(p50), P99: time.Duration(p99)}, nil
}

// Repo is the root of the parigot source tree this module uses.
func Repo() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "parigot.dev/parigot").Output()
	if err != nil {
		return "", fmt.Errorf("finding the parigot source tree (run from the bench module): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Wasm holds the guests the benchmarks run, built once into a temporary
// directory from the parigot tree.
type Wasm struct {
	Dir string // echo.wasm, bench.wasm (runtime/host/testdata/guests), greeting.wasm, hello.wasm (examples/helloworld)
}

// BuildWasm builds the guests (the Go build cache makes a second build
// cheap), into a temporary directory that RemoveWasm removes.
var BuildWasm = sync.OnceValues(func() (*Wasm, error) {
	repo, err := Repo()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "parigot-bench-wasm")
	if err != nil {
		return nil, err
	}
	wasmDir.Store(&dir)
	pkgs := map[string]string{
		"echo":     "./runtime/host/testdata/guests/echo",
		"bench":    "./runtime/host/testdata/guests/bench",
		"greeting": "./examples/helloworld/greeting",
		"hello":    "./examples/helloworld/hello",
		// stores and topics: statebench.wasm
		"statebench": "./runtime/host/testdata/guests/statebench",
	}
	if err := guestbuild.BuildAll(context.Background(), repo, dir, pkgs); err != nil {
		return nil, err
	}
	return &Wasm{Dir: dir}, nil
})

// wasmDir is the directory BuildWasm made, if it ran.
var wasmDir atomic.Pointer[string]

// RemoveWasm removes the guests BuildWasm built, if it built them: a
// hundred MB or more.
func RemoveWasm() {
	if dir := wasmDir.Load(); dir != nil {
		os.RemoveAll(*dir)
	}
}

func (w *Wasm) path(name string) string { return filepath.Join(w.Dir, name+".wasm") }
