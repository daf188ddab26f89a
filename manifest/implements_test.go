package manifest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"parigot.dev/parigot/internal/diag"
)

func TestCheckImplements(t *testing.T) {
	app, diags := Load("testdata/app")
	if diags.HasErrors() {
		t.Fatalf("unexpected diagnostics:\n%s", describe(diags))
	}
	tests := []struct {
		name    string
		defined map[string]bool
		want    []string // summary | detail phrase | line:col, one per diagnostic
	}{
		{
			name:    "every implemented service is defined",
			defined: map[string]bool{"greeting.v1.Greeting": true, "other.v1.Other": true, "other.v1.Admin": true, "extra.v1.Extra": true},
		},
		{
			name:    "a misspelt service gets the defined ones listed and the closest suggested",
			defined: map[string]bool{"greeting.v1.Greeter": true, "other.v1.Other": true, "other.v1.Admin": true},
			want: []string{
				`Unknown proto service "greeting.v1.Greeting"|The declared proto files define: greeting.v1.Greeter, other.v1.Admin, other.v1.Other. Did you mean "greeting.v1.Greeter"?|25:21`,
			},
		},
		{
			name:    "a service far from every defined one gets no suggestion",
			defined: map[string]bool{"greeting.v1.Greeting": true, "other.v1.Other": true, "zzz.Q": false},
			want: []string{
				`Unknown proto service "other.v1.Admin"|The declared proto files define: greeting.v1.Greeting, other.v1.Other. Fix the name|36:35`,
			},
		},
		{
			name:    "no defined service at all says so",
			defined: nil,
			want: []string{
				`Unknown proto service "greeting.v1.Greeting"|no declared proto file defines any service|25:21`,
				`Unknown proto service "other.v1.Other"|no declared proto file defines any service|36:17`,
				`Unknown proto service "other.v1.Admin"|no declared proto file defines any service|36:35`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			diags := app.CheckImplements(tc.defined)
			if len(diags) != len(tc.want) {
				t.Fatalf("got %d diagnostics, want %d:\n%s", len(diags), len(tc.want), describe(diags))
			}
			for i, d := range diags {
				w := strings.Split(tc.want[i], "|")
				if d.Summary != w[0] || !strings.Contains(d.Detail, w[1]) {
					t.Errorf("diagnostic %d:\n  %s\nwant summary %q and detail with %q", i, d.Error(), w[0], w[1])
				}
				if got := fmt.Sprintf("%d:%d", d.Subject.Start.Line, d.Subject.Start.Column); got != w[2] {
					t.Errorf("diagnostic %d at %s, want %s", i, got, w[2])
				}
			}
		})
	}
}

// TestDiagnosticsRender checks that a diagnostic renders with its file name
// and source line through internal/diag, as the CLI shows it: App.Sources
// must hold the manifest under the name used in the ranges.
func TestDiagnosticsRender(t *testing.T) {
	src := "app \"a\" {\n  module = \"example.com/a\"\n}\n\nprogram \"hello\" {\n  source   = \"./hello\"\n  requires = [service.greting]\n}\n"
	app, diags := Parse("examples/helloworld/parigot.hcl", []byte(src), "testdata/app")
	var buf bytes.Buffer
	if err := diag.Write(&buf, diags, app.Sources, 0, false); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`Error: No service named "greting" is declared`,
		"examples/helloworld/parigot.hcl",
		"requires = [service.greting]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered diagnostics lack %q:\n%s", want, out)
		}
	}
}
