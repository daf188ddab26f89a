package manifest

import (
	"strings"
	"testing"
)

// renderedCases are mistakes with the whole text a user sees for them,
// rendered as the CLI does.
// Each src that does not start with an app block gets appBlock appended, so
// its line numbers count from its own first line; the guests use the
// directories of testdata/app.
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
	{
		name: "an app name with a space is refused with the rule and a fixed name",
		src:  "app \"a b\" {\n  module = \"example.com/a\"\n}\n",
		want: `Error: Invalid app name

  on parigot.hcl:1:5
  1: app "a b" {
         ^^^^^

"a b" is not a valid app name: names start with a lowercase letter, hold only
lowercase letters, digits, "_" and "-", and are at most 64 characters long,
because a name becomes part of file names (build/<name>.wasm), of output lines
and of NATS subjects. For example app "a-b".
`,
	},
	{
		name: "an app name that is a NATS wildcard is refused with an example name",
		src:  "app \">\" {\n  module = \"example.com/a\"\n}\n",
		want: `Error: Invalid app name

  on parigot.hcl:1:5
  1: app ">" {
         ^^^

">" is not a valid app name: names start with a lowercase letter, hold only
lowercase letters, digits, "_" and "-", and are at most 64 characters long,
because a name becomes part of file names (build/<name>.wasm), of output lines
and of NATS subjects. For example app "shop".
`,
	},
	{
		name: "an app name with a NUL byte is refused with the byte dropped",
		src:  "app \"a\\u0000b\" {\n  module = \"example.com/a\"\n}\n",
		want: `Error: Invalid app name

  on parigot.hcl:1:5
  1: app "a\u0000b" {
         ^^^^^^^^^^

"a\x00b" is not a valid app name: names start with a lowercase letter, hold
only lowercase letters, digits, "_" and "-", and are at most 64 characters
long, because a name becomes part of file names (build/<name>.wasm), of output
lines and of NATS subjects. For example app "ab".
`,
	},
	{
		name: "a name longer than 64 characters is refused with a shortened one",
		src:  "program \"hellohellohellohellohellohellohellohellohellohellohellohellohellohello\" {\n  source = \"./hello\"\n}\n",
		want: `Error: Invalid program name

  on parigot.hcl:1:9
  1: program "hellohellohellohellohellohellohellohellohellohellohellohellohellohello" {
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^

"hellohellohellohellohellohellohellohellohellohellohellohellohellohello" is
not a valid program name: names start with a lowercase letter, hold only
lowercase letters, digits, "_" and "-", and are at most 64 characters long,
because a name becomes part of file names (build/<name>.wasm), of output lines
and of NATS subjects. For example program
"hellohellohellohellohellohellohellohellohellohellohellohellohell".
`,
	},
	{
		name: "an Id name in snake case is refused with the Go name",
		src:  "id \"order_item\" {\n  letter = \"o\"\n}\n",
		want: `Error: Invalid Id name

  on parigot.hcl:1:4
  1: id "order_item" {
        ^^^^^^^^^^^^

"order_item" is not a valid Id type name: Id names are Go type names that
start with an uppercase letter, hold only ASCII letters and digits, and are at
most 64 characters long. For example id "OrderItem".
`,
	},
	{
		name: "a source leading out of the app directory is refused",
		src:  "program \"hello\" {\n  source = \"../hello\"\n}\n",
		want: `Error: Source path outside the app directory

  on parigot.hcl:2:12
  2:   source = "../hello"
                ^^^^^^^^^^

source "../hello" leads out of the app directory. Paths in parigot.hcl are
relative to its directory, written with "/", and stay inside it, so that the
app is one directory that builds wherever it is copied. For example source =
"./hello".
`,
	},
	{
		name: "an absolute source is refused",
		src:  "program \"hello\" {\n  source = \"/tmp/hello\"\n}\n",
		want: `Error: Absolute source path

  on parigot.hcl:2:12
  2:   source = "/tmp/hello"
                ^^^^^^^^^^^^

source "/tmp/hello" is absolute. Paths in parigot.hcl are relative to its
directory, written with "/", and stay inside it, so that the app is one
directory that builds wherever it is copied. For example source = "./hello".
`,
	},
	{
		name: "a source written with backslashes is refused with the slashed path",
		src:  "program \"hello\" {\n  source = \".\\\\hello\"\n}\n",
		want: `Error: Backslash in source path

  on parigot.hcl:2:12
  2:   source = ".\\hello"
                ^^^^^^^^^^

source ".\\hello" is written with "\\". Paths in parigot.hcl are relative to
its directory, written with "/", and stay inside it, so that the app is one
directory that builds wherever it is copied. For example source = "./hello".
`,
	},
	{
		name: "a source with a drive letter is refused as absolute",
		src:  "program \"hello\" {\n  source = \"C:/hello\"\n}\n",
		want: `Error: Absolute source path

  on parigot.hcl:2:12
  2:   source = "C:/hello"
                ^^^^^^^^^^

source "C:/hello" is absolute. Paths in parigot.hcl are relative to its
directory, written with "/", and stay inside it, so that the app is one
directory that builds wherever it is copied. For example source = "./hello".
`,
	},
	{
		name: "a proto file leading out of the app directory is refused",
		src:  "proto \"greeting\" {\n  files = [\"../greeting.proto\"]\n}\n",
		want: `Error: Proto file path outside the app directory

  on parigot.hcl:2:12
  2:   files = ["../greeting.proto"]
                ^^^^^^^^^^^^^^^^^^^

proto file "../greeting.proto" leads out of the app directory. Paths in
parigot.hcl are relative to its directory, written with "/", and stay inside
it, so that the app is one directory that builds wherever it is copied. For
example "proto/greeting/v1/greeting.proto".
`,
	},
	{
		name: "a proto root leading out of the app directory is refused",
		src:  "proto \"greeting\" {\n  root  = \"proto/../..\"\n  files = [\"proto/greeting/v1/greeting.proto\"]\n}\n",
		want: `Error: Root path outside the app directory

  on parigot.hcl:2:11
  2:   root  = "proto/../.."
               ^^^^^^^^^^^^^

root "proto/../.." leads out of the app directory. Paths in parigot.hcl are
relative to its directory, written with "/", and stay inside it, so that the
app is one directory that builds wherever it is copied. For example root =
"proto".
`,
	},
	{
		name: "a module ending in /v1 is refused as go mod init refuses it",
		src:  "app \"shop\" {\n  module = \"example.com/shop/v1\"\n}\n",
		want: `Error: Invalid module

  on parigot.hcl:2:12
  2:   module = "example.com/shop/v1"
                ^^^^^^^^^^^^^^^^^^^^^

"example.com/shop/v1" is not a Go module path: a major version suffix is /v2
or later, and gopkg.in paths end in one like .v3. Set module to the import
path of the app's directory, the path go mod init would take, for example
module = "example.com/shop".
`,
	},
	{
		name: "an inbox_bytes under the largest payload is refused with the range and why",
		src:  "service \"greeting\" {\n  source      = \"./greeting\"\n  implements  = [\"greeting.v1.Greeting\"]\n  inbox_bytes = \"1MiB\"\n}\n",
		want: `Error: inbox_bytes out of range

  on parigot.hcl:4:17
  4:   inbox_bytes = "1MiB"
                     ^^^^^^

"1MiB" is outside the range of inbox_bytes: give from 4MiB to 1GiB, for
example inbox_bytes = "64MiB" (the default). At least 4MiB, the largest
request one call may carry, so that any one call fits; at most 1GiB, because
waiting requests are held in the host's own memory.
`,
	},
	{
		name: "an inbox_calls of zero is refused with the range and why",
		src:  "service \"greeting\" {\n  source      = \"./greeting\"\n  implements  = [\"greeting.v1.Greeting\"]\n  inbox_calls = 0\n}\n",
		want: `Error: inbox_calls out of range

  on parigot.hcl:4:17
  4:   inbox_calls = 0
                     ^

0 is outside the range of inbox_calls: give from 1 to 65536, for example
inbox_calls = 1024 (the default). At least 1, so that a call can reach the
service at all; at most 65536, because calls wait one after the other, and
past that many the last could not be answered within any method budget.
`,
	},
}

func TestRenderedDiagnostics(t *testing.T) {
	for _, c := range renderedCases {
		t.Run(c.name, func(t *testing.T) {
			src := c.src + appBlock
			if strings.HasPrefix(c.src, "app ") {
				src = c.src
			}
			app, diags := Parse(FileName, []byte(src), "testdata/app")
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

func TestInboxBoundsAreDecoded(t *testing.T) {
	for _, c := range []struct {
		name, attrs string
		calls       int
		bytes       uint64
	}{
		{"a service without inbox attributes has zeros, meaning the defaults", "", 0, 0},
		{"the smallest bounds are accepted", "inbox_calls = 1\n  inbox_bytes = \"4MiB\"", 1, 4 << 20},
		{"the largest bounds are accepted", "inbox_calls = 65536\n  inbox_bytes = \"1GiB\"", MaxInboxCalls, MaxInboxBytes},
		{"a size in KiB is accepted", "inbox_bytes = \"8192KiB\"", 0, 8 << 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n  " + c.attrs + "\n}\n" + appBlock
			app, diags := Parse(FileName, []byte(src), "testdata/app")
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics:\n%s", describe(diags))
			}
			if g := app.Services[0]; g.InboxCalls != c.calls || g.InboxBytes != c.bytes {
				t.Errorf("InboxCalls %d, InboxBytes %d; want %d, %d", g.InboxCalls, g.InboxBytes, c.calls, c.bytes)
			}
		})
	}
}
