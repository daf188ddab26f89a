package fuel

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time the calling thread has used. Benchmarks
// measure with it rather than with the clock: on a machine shared with
// other work, time spent waiting for a core is not the guest's.
func threadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
