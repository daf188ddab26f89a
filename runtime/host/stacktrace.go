package host

import (
	"fmt"
	"strings"
)

// A wasm stack trace (wazero's, after a trap or an overrun's stop) names
// each frame by its function's name in the module, which for Go code is
// the Go name with what wasm names may not hold turned into underscores.
// A generic function's instance is named by the shapes of its type
// arguments, which spell out every field of a message struct: one frame
// of a generated service's method took over 700 characters, and hid the
// frames around it. Such a frame keeps its start (the package and the
// function) and its end (the method and its signature) and says how much
// it left out.

// maxFrame is the longest frame line a trace shows whole.
const maxFrame = 200

// frameHead and frameTail are how much of a longer frame line it keeps.
const (
	frameHead = 120
	frameTail = 60
)

// shortFrames is trace with every frame line (one that starts with a
// tab) longer than maxFrame shortened to its head and tail.
func shortFrames(trace string) string {
	if !strings.Contains(trace, "\n\t") {
		return trace
	}
	lines := strings.Split(trace, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "\t") && len(l) > maxFrame {
			left := len(l) - frameHead - frameTail
			what := "characters"
			if strings.Contains(l, "go.shape.") { // a generic function's instance, named by its type arguments' shapes
				what = "characters of type arguments"
			}
			lines[i] = fmt.Sprintf("%s … (%d %s left out) … %s", l[:frameHead], left, what, l[len(l)-frameTail:])
		}
	}
	return strings.Join(lines, "\n")
}
