package manifest

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

const digestManifest = `app "shop" {
  module = "example.com/shop"
}

service "books" {
  source         = "./books"
  implements     = ["books.v1.Books"]
  method_timeout = "50ms"
}

program "buyer" {
  source   = "./buyer"
  requires = [service.books]
}
`

func TestDigestKeepsCommentsAndLayoutOut(t *testing.T) {
	want := Digest(FileName, []byte(digestManifest))
	for _, tc := range []struct{ name, src string }{
		{"a comment is added", "# The shop.\n" + strings.Replace(digestManifest, `"./books"`, `"./books" // its source`, 1) + "/* the end */\n"},
		{"the file is indented otherwise", strings.ReplaceAll(strings.ReplaceAll(digestManifest, "  ", "    "), "         =", " =")},
		{"blank lines are added and removed", strings.ReplaceAll(strings.ReplaceAll(digestManifest, "}\n\n", "}\n"), "{\n", "{\n\n")},
		{"a list is broken over lines", strings.Replace(digestManifest, `["books.v1.Books"]`, "[\n    \"books.v1.Books\",\n  ]", 1)},
		{"the lines end in CRLF", strings.ReplaceAll(digestManifest, "\n", "\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, diags := hclsyntax.ParseConfig([]byte(tc.src), FileName, hcl.InitialPos); diags.HasErrors() {
				t.Fatalf("the edited manifest does not parse:\n%s", describe(diags))
			}
			if got := Digest(FileName, []byte(tc.src)); got != want {
				t.Errorf("Digest changed, want it kept, for:\n%s", tc.src)
			}
		})
	}
}

func TestDigestChangesWithWhatTheManifestSays(t *testing.T) {
	was := Digest(FileName, []byte(digestManifest))
	for _, tc := range []struct{ name, old, new string }{
		{"a method timeout changes", `"50ms"`, `"60ms"`},
		{"a service is renamed", `service "books"`, `service "novels"`},
		{"a reference changes", `[service.books]`, `[service.novels]`},
		{"a string gains a space", `"./buyer"`, `"./buyer "`},
		{"an attribute is added", `source   = "./buyer"`, "source   = \"./buyer\"\n  restart = \"never\""},
		{"a block is removed", "program \"buyer\" {\n  source   = \"./buyer\"\n  requires = [service.books]\n}\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(digestManifest, tc.old, tc.new, 1)
			if src == digestManifest {
				t.Fatalf("%q is not in the manifest", tc.old)
			}
			if Digest(FileName, []byte(src)) == was {
				t.Errorf("Digest kept, want it changed, for:\n%s", src)
			}
		})
	}
}

func TestDigestKeepsAHeredocsLinesAsWritten(t *testing.T) {
	was := Digest(FileName, []byte("a = <<EOT\nx ${y}\n\nz\nEOT\n"))
	for _, src := range []string{
		"a = <<EOT\nx ${y}\nz\nEOT\n",     // a blank line less
		"a = <<EOT\nx ${y}\n\n  z\nEOT\n", // a line indented
		"a = <<EOT\nx ${y}z\n\nEOT\n",     // a line break moved
	} {
		if Digest(FileName, []byte(src)) == was {
			t.Errorf("Digest kept, want it changed, for:\n%s", src)
		}
	}
}
