//go:build race

package split

// raceEnabled: the race detector slows the host several times over, and
// sees nothing inside guests, so load tests make fewer calls.
const raceEnabled = true
