//go:build race

package gateway

// raceEnabled: the race detector slows this process several times over.
const raceEnabled = true
