//go:build !linux

package fuel

import "time"

var start = time.Now()

// threadCPU returns the time since the tests started: elsewhere than on
// Linux the benchmarks measure with the clock.
func threadCPU() time.Duration { return time.Since(start) }
