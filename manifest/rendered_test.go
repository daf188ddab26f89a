package manifest

import (
	"strings"
	"testing"
)

// renderedCases are mistakes with the whole text a user sees for them,
// rendered as the CLI does. Each src gets appBlock appended, so its line
// numbers count from its own first line; the guests use the directories of
// testdata/app.
var renderedCases = []struct {
	name, src, want string
}{
	{
		name: "a method_timeout beyond an hour is refused with the range and what to do instead",
		src:  "service \"greeting\" {\n  source         = \"./greeting\"\n  implements     = [\"greeting.v1.Greeting\"]\n  method_timeout = \"2000000h\"\n}\n",
		want: `Error: method_timeout out of range

  on parigot.hcl:4:20
  4:   method_timeout = "2000000h"
                        ^^^^^^^^^^

"2000000h" is outside the range of method_timeout: give from 1ms to 1h, for
example method_timeout = "50ms" (the default). A service answers nothing else
while one of its methods runs, so a method needing longer should start the
work and return an Id that the caller polls (see docs/GUEST_API.md, "Long
work"). Less than 1ms is below what a deadline can be held to.
`,
	},
	{
		name: "a method_timeout under a millisecond is refused with the range",
		src:  "service \"greeting\" {\n  source         = \"./greeting\"\n  implements     = [\"greeting.v1.Greeting\"]\n  method_timeout = \"500us\"\n}\n",
		want: `Error: method_timeout out of range

  on parigot.hcl:4:20
  4:   method_timeout = "500us"
                        ^^^^^^^

"500us" is outside the range of method_timeout: give from 1ms to 1h, for
example method_timeout = "50ms" (the default). A service answers nothing else
while one of its methods runs, so a method needing longer should start the
work and return an Id that the caller polls (see docs/GUEST_API.md, "Long
work"). Less than 1ms is below what a deadline can be held to.
`,
	},
}

func TestRenderedDiagnostics(t *testing.T) {
	for _, c := range renderedCases {
		t.Run(c.name, func(t *testing.T) {
			app, diags := Parse(FileName, []byte(c.src+appBlock), "testdata/app")
			if got := render(t, app, diags); got != c.want {
				t.Errorf("got:\n%s\nwant:\n%s\ndiff at: %q", got, c.want, firstDiff(got, c.want))
			}
		})
	}
}

// firstDiff returns got from the first byte where it differs from want.
func firstDiff(got, want string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return got[i:min(len(got), i+40)]
		}
	}
	return strings.TrimPrefix(got, want)
}

func TestDurationsAtTheirBoundsAreAccepted(t *testing.T) {
	for _, c := range []struct {
		written string
		want    string
	}{{"1ms", "1ms"}, {"1h", "1h0m0s"}, {"59m59s", "59m59s"}, {"1000us", "1ms"}} {
		t.Run("method_timeout = "+c.written+" is accepted", func(t *testing.T) {
			src := "service \"greeting\" {\n  source         = \"./greeting\"\n  implements     = [\"greeting.v1.Greeting\"]\n  method_timeout = \"" + c.written + "\"\n}\n" + appBlock
			app, diags := Parse(FileName, []byte(src), "testdata/app")
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics:\n%s", describe(diags))
			}
			if got := app.Services[0].MethodTimeout.String(); got != c.want {
				t.Errorf("MethodTimeout = %s, want %s", got, c.want)
			}
		})
	}
}
