package manifest

import (
	"os"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// FuzzParse checks that Parse never panics, always returns an App, and gives
// every error a position; the seed corpus is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	if src, err := os.ReadFile("testdata/app/parigot.hcl"); err == nil {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		app, diags := Parse("parigot.hcl", src, "testdata/app")
		if app == nil {
			t.Fatal("Parse returned a nil App")
		}
		for _, d := range diags {
			if d.Severity == hcl.DiagError && d.Subject == nil {
				t.Errorf("error without a subject: %s", d.Error())
			}
		}
		if len(app.StartOrder()) != len(app.Services)+len(app.Programs) {
			t.Errorf("StartOrder lost guests")
		}
		app.CheckImplements(map[string]bool{"greeting.v1.Greeting": true})
	})
}
