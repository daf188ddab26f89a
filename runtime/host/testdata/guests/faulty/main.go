// Command faulty is a test service with one method for each way a guest can
// fail: the same faults must read the same in single and split mode. Log is
// the one method that does not fail, although its output reads as if it had.
package main

import (
	"context"
	"fmt"
	"os"
	"time"
	"unsafe"

	"parigot.dev/parigot/runtime/guest"
)

var (
	spin  int
	hoard [][]byte
)

func main() {
	guest.Export("test.Faulty", nil, map[string]guest.Method{
		"Hello": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			return guest.Resolved(req)
		},
		"Panic": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			panic("a fault on purpose")
		},
		"Trap": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			// A store far beyond linear memory: the wasm traps.
			*(*byte)(unsafe.Pointer(uintptr(0xFFFF_FFF0))) = 1
			return guest.Resolved(req)
		},
		"Exit": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			os.Exit(3)
			return nil
		},
		"ExitNegative": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			os.Exit(-1) // wazero's exit code for a cancelled context, 0xFFFFFFFF
			return nil
		},
		"Log": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			// Not a fault: lines that only look like the Go runtime's.
			fmt.Println("panic: this is just a log line")
			fmt.Println("runtime: out of memory is what the last release fixed")
			fmt.Fprintln(os.Stderr, "fatal error: out of memory, said the report we were sent")
			return guest.Resolved(req)
		},
		"Deadlock": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			<-make(chan struct{}) // nothing sends: the Go runtime gives up
			return guest.Resolved(req)
		},
		"Hog": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			for { // allocates until the memory limit ends it
				hoard = append(hoard, make([]byte, 1<<20))
			}
		},
		"SpinThenExit": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			// Past any budget a test gives it, then an exit of its own:
			// the host decides to stop it meanwhile.
			for start := time.Now(); time.Since(start) < time.Second; {
			}
			os.Exit(3)
			return nil
		},
		"Spin": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			// A line that starts as a split-mode child's host marks its
			// own: it must still read as this guest's.
			fmt.Fprintln(os.Stderr, "\x1eparigot: a line of the guest's, marked as the host's own are")
			for spin = 0; ; spin++ { // never returns: the host must stop it
			}
		},
	})
	guest.Run()
}
