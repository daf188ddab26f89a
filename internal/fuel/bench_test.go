package fuel

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"
)

// BenchmarkInstrument instruments a parigot service of about 6.6 MB (the
// runtime's echo test guest, with protobuf).
func BenchmarkInstrument(b *testing.B) {
	wasm := readGuest(b, parigotGuests, "host-echo")
	m := &module{r: reader{b: wasm, end: len(wasm)}}
	m.scan()
	out := m.write()
	b.SetBytes(int64(len(wasm)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Instrument(wasm); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(wasm))/1e6, "MB")
	b.ReportMetric(float64(m.loops), "loops")
	b.ReportMetric(100*float64(len(out)-len(wasm))/float64(len(wasm)), "%growth")
}

// computeRounds is how many rounds of the compute guest one run does:
// about a second of work, plain.
const computeRounds = "3"

// computeVariant is the compute guest compiled one way.
type computeVariant struct {
	ctx      context.Context
	rt       wazero.Runtime
	compiled wazero.CompiledModule
}

func newComputeVariant(b *testing.B, wasm []byte, closeOnContextDone bool) computeVariant {
	ctx, rt := newGoRuntime(b, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(closeOnContextDone))
	return computeVariant{ctx, rt, compile(b, ctx, rt, wasm)}
}

// run runs the guest once and returns the CPU time it took, start-up
// included (a few milliseconds).
func (v computeVariant) run(b *testing.B, refill uint32) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := threadCPU()
	g := runGo(b, v.compiled, v.ctx, v.rt, refill, computeRounds)
	used := threadCPU() - start
	if g.err != nil {
		b.Fatalf("%v\n%s", g.err, g.stderr.String())
	}
	return used
}

// fastest keeps the shortest of the durations it sees: on a shared,
// noisy machine the fastest run is the one least disturbed by others.
type fastest time.Duration

func (f *fastest) see(d time.Duration) {
	if *f == 0 || d < time.Duration(*f) {
		*f = fastest(d)
	}
}

func (f fastest) ms() float64 { return time.Duration(f).Seconds() * 1e3 }

// BenchmarkCheckCost runs the compute guest (small function calls and
// loops) three ways, and reports the time each took (the fastest of b.N
// runs, measured inside the guest) and their ratios: plain without
// close-on-context-done (fast, but a guest that loops forever would freeze
// the host), instrumented, and plain with close-on-context-done.
func BenchmarkCheckCost(b *testing.B) {
	plain := readGuest(b, ownGuests, "compute")
	unsafe := newComputeVariant(b, plain, false)
	fuel := newComputeVariant(b, instrument(b, plain), false)
	closing := newComputeVariant(b, plain, true)
	var tu, tf, tc fastest
	runs := []func(){
		func() { tu.see(unsafe.run(b, Budget)) },
		func() { tf.see(fuel.run(b, Budget)) },
		func() { tc.see(closing.run(b, Budget)) },
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for j := range runs { // in turn first, against drift
			runs[(i+j)%len(runs)]()
		}
	}
	b.ReportMetric(tu.ms(), "plain-ms")
	b.ReportMetric(tf.ms(), "fuel-ms")
	b.ReportMetric(tc.ms(), "closing-ms")
	b.ReportMetric(tf.ms()/tu.ms(), "fuel/plain")
	b.ReportMetric(tc.ms()/tu.ms(), "closing/plain")
	b.ReportMetric(tc.ms()/tf.ms(), "closing/fuel")
}

// BenchmarkLoopCheck measures what the check adds to one iteration of a
// tight loop (local.get, i32.sub, local.tee, br_if): run(n) of loopModule,
// plain and instrumented with several refills, timed from the host (CPU
// time, the fastest of b.N calls). Refill 1 calls yield at every
// iteration, which gives the cost of a yield.
func BenchmarkLoopCheck(b *testing.B) {
	const n = 10_000_000
	for _, tc := range []struct {
		name   string
		wasm   []byte
		refill uint32
	}{
		{"plain", loopModule(), 0},
		{"fuel/refill=1", instrument(b, loopModule()), 1},
		{"fuel/refill=100", instrument(b, loopModule()), 100},
		{"fuel/refill=1000", instrument(b, loopModule()), 1_000},
		{"fuel/refill=10000", instrument(b, loopModule()), 10_000},
		{"fuel/refill=100000", instrument(b, loopModule()), 100_000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx, rt := newRuntime(b)
			(&yieldCounter{refill: tc.refill}).instantiate(b, ctx, rt)
			mod, err := rt.Instantiate(ctx, tc.wasm)
			if err != nil {
				b.Fatal(err)
			}
			run := mod.ExportedFunction("run")
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var best fastest
			for b.Loop() {
				start := threadCPU()
				if _, err := run.Call(ctx, n); err != nil {
					b.Fatal(err)
				}
				best.see(threadCPU() - start)
			}
			b.ReportMetric(float64(time.Duration(best).Nanoseconds())/n, "ns/iteration")
		})
	}
}

// BenchmarkYieldInterval shows how long a garbage collection may have to
// wait for a guest in an endless loop, for refills from 100 to 1 000 000
// loop iterations: the instrumented spin guest runs 2000 stretches of fuel,
// and the median time between two calls of yield is reported (the median,
// because on a shared machine the longest intervals measure the operating
// system's scheduler, not the guest).
func BenchmarkYieldInterval(b *testing.B) {
	spin := instrument(b, readGuest(b, ownGuests, "spin"))
	for _, refill := range []uint32{100, 1_000, 10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("refill=%d", refill), func(b *testing.B) {
			var medians []time.Duration
			for b.Loop() {
				medians = append(medians, medianYieldInterval(b, spin, refill))
			}
			slices.Sort(medians)
			median := medians[len(medians)/2]
			b.ReportMetric(float64(median.Nanoseconds())/1e3, "us/yield")
			b.ReportMetric(float64(median.Nanoseconds())/float64(refill), "ns/iteration")
		})
	}
}

// medianYieldInterval runs the spin guest for 2000 stretches of refill
// iterations once it spins and returns the median time between yields.
func medianYieldInterval(b *testing.B, spin []byte, refill uint32) time.Duration {
	const stretches = 2000
	var (
		w    spinWatch
		last time.Time
		gaps = make([]time.Duration, 0, stretches)
	)
	err := runSpin(b, spin, &w, refill, func() {
		now := time.Now()
		if !last.IsZero() {
			gaps = append(gaps, now.Sub(last))
		}
		last = now
		if len(gaps) == stretches {
			panic(sys.NewExitError(3))
		}
	})
	var exit *sys.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		b.Fatalf("the spin guest ended with %v", err)
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2]
}
