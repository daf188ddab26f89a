// Package fuel makes a wasm module interruptible at a low cost, the way
// wasmtime's fuel and epoch interruption do: Instrument rewrites the module
// so that every loop iteration counts down a fuel global and, when the fuel
// runs out, calls a host function, parigot.yield, whose result refills it.
//
// Why: wazero runs compiled wasm as native code that the Go runtime cannot
// preempt. A guest that loops without calling the host (a `for {}` in a
// service method, a long computation) blocks the garbage collector's
// stop-the-world forever, and with it the whole host. wazero's
// close-on-context-done avoids that by calling out to Go at every loop
// header, but Go's wasm output has a loop at the entry of every function,
// so that costs a trampoline per call. Here the common case is a global
// decrement and a branch; only one iteration in Budget leaves the module.
// In yield the guest's goroutine runs Go code again, so the runtime can
// stop it for a collection, and the host can end it (yield panics with a
// sys.ExitError) when its deadline has passed.
//
// What it is not: a limit on memory or on time spent in host calls, nor a
// way to resume a guest elsewhere. A module it cannot fully decode is
// refused with an *Error; the caller then compiles the module unchanged,
// with close-on-context-done.
//
// The host side: a host module ImportModule exporting ImportName of type
// () -> (i32) that returns the next stretch's fuel (Budget, or less to
// interrupt sooner; at least 1).
package fuel
