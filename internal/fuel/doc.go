// Package fuel makes a wasm module interruptible at a low cost, the way
// wasmtime's fuel does: Instrument rewrites the module so that every loop
// iteration counts down a fuel global and, when the fuel runs out, calls a
// host function, parigot.yield, whose result refills it.
//
// # Why
//
// wazero runs compiled wasm as native code that the Go runtime cannot
// preempt. A guest that loops without calling the host (a `for {}` in a
// service method, a long computation) blocks the garbage collector's
// stop-the-world forever, and with it the whole host, signals included.
// wazero's close-on-context-done avoids that by calling out to Go at every
// loop header, but Go's wasm output has a loop at the entry of every
// function that can be resumed, so that costs a trampoline per call. Here
// the common case is a decrement of a global and a branch; one iteration
// in Budget leaves the module. In yield the guest's goroutine runs Go code
// again, so the runtime can stop it for a collection, and the host can end
// the guest (yield panics with a sys.ExitError) once its deadline has
// passed.
//
// Fuel rather than wasmtime's other mechanism, epochs (the module compares
// a counter that another thread bumps): here the thread that would bump the
// epoch is a goroutine, and a stop-the-world stops it before it could tell
// the guest to yield. A count the guest keeps itself needs no one else.
//
// What it is not: a limit on memory or on time spent in host calls, nor a
// way to resume a guest elsewhere. A module it cannot fully decode is
// refused with an *Error; the caller then compiles the module unchanged,
// with close-on-context-done.
//
// # The host's side
//
// A host module ImportModule ("parigot") exporting ImportName ("yield"), of
// type () -> (i32), that returns the next stretch's fuel: Budget, or less to
// interrupt sooner, at least 1. It is an ordinary Go host function, called
// on the guest's goroutine; a cheap one (a context check) costs about 50 ns.
//
// # Figures
//
// Measured on the 2-core shared development machine (Go 1.26, wazero
// v1.12, compiler, amd64), in thread CPU time and as the fastest of several
// runs, since wall-clock time there swung by 50% with other people's work.
//
// Instrument on the runtime's echo test guest (6.8 MB, 2961 loops): 43 ms
// (wall clock),
// 87 allocations; the module grows by 0.7% (17 bytes a loop, less a
// few bytes where a renumbered index is re-encoded shorter):
//
//	go test ./internal/fuel -run '^$' -bench Instrument -benchtime 12x
//
// A CPU-bound Go guest (testdata/compute: recursion, a sieve, sorting, a
// map; three rounds), fastest of 20 runs, in two runs of the benchmark:
// plain and uninterruptible 118 and 126 ms, instrumented 126 and 139 ms
// (x1.06 and x1.11), plain with close-on-context-done 572 and 567 ms (x4.8
// and x4.5, so x4.6 and x4.1 the instrumented guest's time):
//
//	go test ./internal/fuel -run '^$' -bench CheckCost -benchtime 20x -count 2
//
// A loop of four instructions costs 0.90 ns an iteration plain and 1.6 to
// 2.0 ns instrumented: the fuel is loaded, decremented and stored at each
// iteration, a chain through memory that the loop carries. A yield costs
// about 50 ns (51.5 ns an iteration with a refill of 1):
//
//	go test ./internal/fuel -run '^$' -bench LoopCheck -benchtime 5x
//
// # Budget
//
// Budget trades how long a garbage collection (or the host, to end a
// guest) may wait against how often the guest leaves for Go. The Go spin
// guest (`for {}`) runs an iteration in about 2.4 ns once instrumented, so
// it calls yield every (median of 2000 stretches):
//
//	refill        100       1 000     10 000     100 000     1 000 000
//	between yields 0.42 us  3.4 us    24 us      0.32 ms     3.1 ms
//
//	go test ./internal/fuel -run '^$' -bench YieldInterval -benchtime 5x
//
// At 50 ns a yield, a refill of 100 adds about 0.5 ns an iteration (a
// third of the check's own cost), 1 000 adds 0.05 ns (3%), 10 000 adds
// 0.005 ns (under 0.5%). 10 000 is the smallest refill whose yields cost
// nothing measurable, and keeps the wait of a collection at tens of
// microseconds for tight loops, the order of Go's own stop-the-world
// pauses; loops whose iterations do more (a call, some arithmetic) stretch
// it in proportion, to a few hundred microseconds at 10 ns an iteration.
package fuel
