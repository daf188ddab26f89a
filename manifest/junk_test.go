package manifest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"parigot.dev/parigot/internal/diag"
)

// junk returns n bytes of deterministic nonsense made of the characters
// that matter to HCL (braces, quotes, brackets, comments), which yields a
// syntax error every few dozen bytes.
func junk(n int) []byte {
	const alphabet = "abc {}=\"[]\n.#*>$ \t0"
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return b
}

// render is what the CLI prints for diags.
func render(t testing.TB, app *App, diags hcl.Diagnostics) string {
	var out bytes.Buffer
	if err := diag.Write(&out, diags, app.Sources, 0, false); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestAJunkManifestFailsShort(t *testing.T) {
	t.Run("a manifest of junk larger than MaxFileSize is refused with one error", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, FileName), junk(5<<20), 0o644)
		app, diags := Load(dir)
		if len(diags) != 1 || diags[0].Summary != "Manifest too large" {
			t.Fatalf("got %d diagnostics, want one \"Manifest too large\":\n%s", len(diags), describe(diags[:min(len(diags), 3)]))
		}
		if len(app.Sources[app.File]) > MaxFileSize+1 {
			t.Errorf("Load read %d bytes of a file over the limit", len(app.Sources[app.File]))
		}
		out := render(t, app, diags)
		if lines := strings.Count(out, "\n"); lines > 10 {
			t.Errorf("%d lines of output, want at most 10:\n%s", lines, out)
		}
		if want := "holds more than 1 MiB, more than any manifest"; !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	})
	t.Run("a manifest just under MaxFileSize, wrong in every block, shows the first errors and counts the rest", func(t *testing.T) {
		// Not junk(MaxFileSize): its first unclosed quote ends what is
		// reported (see unclosedString).
		app, diags := Parse(FileName, wrongBlocks(MaxFileSize-1000), "testdata/app")
		if len(diags) <= diag.MaxShown {
			t.Fatalf("only %d diagnostics: the blocks are not wrong enough to test the limit", len(diags))
		}
		out := render(t, app, diags)
		if n := strings.Count(out, "Error: "); n != diag.MaxShown {
			t.Errorf("%d errors shown, want %d", n, diag.MaxShown)
		}
		if lines := strings.Count(out, "\n"); lines > diag.MaxShown*12 {
			t.Errorf("%d lines of output, want at most %d", lines, diag.MaxShown*12)
		}
		last := regexp.MustCompile(`\n\.\.\.and [0-9]+ more errors, not shown; fix the ones above first\.\n$`)
		if !last.MatchString(out) {
			t.Errorf("output does not end with the count of the errors not shown:\n%s", out[max(0, len(out)-300):])
		}
	})
}

// wrongBlocks returns about n bytes of well-formed service blocks that are
// each wrong in several ways, so that every error comes from this package's
// own checks rather than from the HCL parser.
func wrongBlocks(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "service \"S%d\" {\n  source = \"./nope%d\"\n  implements = [1]\n  method_timeout = \"x\"\n}\n", i, i)
	}
	return b.Bytes()
}

// BenchmarkJunkManifest parses and renders manifests of junk just under
// MaxFileSize: what a user waits for when pointing parigot at the wrong
// file.
func BenchmarkJunkManifest(b *testing.B) {
	for _, c := range []struct {
		name string
		src  []byte
	}{{"random", junk(MaxFileSize)}, {"wrong-blocks", wrongBlocks(MaxFileSize - 1000)}} {
		b.Run(c.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				app, diags := Parse(FileName, c.src, "testdata/app")
				render(b, app, diags)
				n = len(diags)
			}
			b.ReportMetric(float64(n), "diagnostics")
		})
	}
}

func TestAManifestThatIsNotUTF8TextIsOneErrorSayingSo(t *testing.T) {
	utf16 := []byte{0xff, 0xfe}
	for _, r := range "app \"x\" {\n  module = \"x\"\n}\n" {
		utf16 = append(utf16, byte(r), 0)
	}
	for _, c := range []struct {
		name, src, want string
		line, col       int
	}{
		{"saved as UTF-16", string(utf16), "looks saved as UTF-16", 1, 1},
		{"a Latin-1 letter in a comment", "app \"x\" {\n  # caf\xe9\n}\n", "The byte 0xe9 at parigot.hcl:2:8 is not UTF-8", 2, 8},
	} {
		t.Run(c.name, func(t *testing.T) {
			app, diags := Parse(FileName, []byte(c.src), "testdata/app")
			if len(diags) != 1 || diags[0].Summary != "File is not UTF-8 text" {
				t.Fatalf("got %d diagnostics, want one \"File is not UTF-8 text\":\n%s", len(diags), describe(diags[:min(len(diags), 3)]))
			}
			if s := diags[0].Subject; s.Start.Line != c.line || s.Start.Column != c.col {
				t.Errorf("at %d:%d, want %d:%d", s.Start.Line, s.Start.Column, c.line, c.col)
			}
			out := render(t, app, diags)
			if !strings.Contains(out, c.want) || !strings.Contains(out, "Save it as UTF-8") || strings.ContainsRune(out, 0) {
				t.Errorf("output does not say %q and what to do, or holds a NUL:\n%s", c.want, out)
			}
		})
	}
}

func TestAPositionInHCLsOwnDetailIsFileLineCol(t *testing.T) {
	_, diags := Parse(FileName, []byte("app \"x\" {\n  module = \"a\"\n  module = \"b\"\n}\n"), "testdata/app")
	if len(diags) == 0 || !strings.Contains(diags[0].Detail, "parigot.hcl:2:3") || strings.Contains(diags[0].Detail, "2,3") {
		t.Errorf("diagnostics %s, want the first setting at parigot.hcl:2:3", describe(diags))
	}
}

// HCL's parser recurses once a nesting level: a manifest of opening
// brackets, well under MaxFileSize, overflowed the stack and ended the
// process. It is refused before it is parsed, at the first opening too
// deep, each kind of opening alike.
func TestAManifestNestedTooDeeplyIsRefusedWhereItGoesTooDeep(t *testing.T) {
	const n = 100000
	for name, value := range map[string]string{
		"parentheses":    strings.Repeat("(", n) + "1" + strings.Repeat(")", n),
		"brackets":       strings.Repeat("[", n) + strings.Repeat("]", n),
		"objects":        strings.Repeat("{a=", n) + "1" + strings.Repeat("}", n),
		"interpolations": strings.Repeat(`"${`, n) + "1" + strings.Repeat(`}"`, n),
		"calls":          strings.Repeat("f(", n) + "1" + strings.Repeat(")", n),
	} {
		t.Run(name, func(t *testing.T) {
			src := "app \"shop\" {\n  module = \"example.com/shop\"\n}\n\nservice \"s\" {\n  replicas = " + value + "\n}\n"
			app, diags := Parse(FileName, []byte(src), "testdata/app")
			if len(diags) != 1 || diags[0].Summary != "Nesting too deep" {
				t.Fatalf("got %d diagnostics, want one \"Nesting too deep\":\n%s", len(diags), describe(diags[:min(len(diags), 3)]))
			}
			if at := diags[0].Subject.Start; at.Line != 6 || at.Byte-len("app \"shop\" {\n  module = \"example.com/shop\"\n}\n\nservice \"s\" {\n  replicas = ") > 3*maxNesting {
				t.Errorf("reported at line %d, byte %d; want line 6, at the opening past level %d", at.Line, at.Byte, maxNesting)
			}
			if out := render(t, app, diags); !strings.Contains(out, "nested up to 256 levels") {
				t.Errorf("output does not give the limit:\n%s", out[:min(len(out), 600)])
			}
		})
	}
	t.Run("a manifest nested as deep as allowed is parsed", func(t *testing.T) {
		src := "app \"shop\" {\n  module = \"example.com/shop\"\n}\n\nservice \"s\" {\n  replicas = " + strings.Repeat("(", maxNesting-2) + "1" + strings.Repeat(")", maxNesting-2) + "\n}\n"
		_, diags := Parse(FileName, []byte(src), "testdata/app")
		for _, d := range diags {
			if d.Summary == "Nesting too deep" {
				t.Fatalf("refused a manifest within the limit: %s", d.Detail)
			}
		}
	})
}
