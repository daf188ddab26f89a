//go:build race

package apptest

// raceEnabled: the race detector slows this process several times over,
// and the processes of a split-mode app too (each is this test binary).
const raceEnabled = true
