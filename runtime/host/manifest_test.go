package host

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"parigot.dev/parigot/manifest"
)

func TestManifestBudgetsAreScaledOnlyWhenAsked(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "svc"), 0o755)
	os.WriteFile(filepath.Join(dir, "svc", "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	src := []byte("app \"a\" {\n  module = \"example.com/a\"\n}\n\nservice \"svc\" {\n  source = \"./svc\"\n  implements = [\"a.v1.A\"]\n  method_timeout = \"40ms\"\n}\n")
	app, diags := manifest.Parse("parigot.hcl", src, dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, c := range []struct {
		scale string
		want  time.Duration
	}{
		{"", 40 * time.Millisecond},
		{"10", 400 * time.Millisecond},
		{"2.5", 100 * time.Millisecond},
		{"0.1", 40 * time.Millisecond}, // never shorter than written
		{"fast", 40 * time.Millisecond},
	} {
		t.Setenv(EnvTimeoutScale, c.scale)
		if got := GuestsFromManifest(app, nil)[0].MethodTimeout; got != c.want {
			t.Errorf("%s=%q: budget %v, want %v", EnvTimeoutScale, c.scale, got, c.want)
		}
	}
}

func TestTimeoutScaleFallsBackOnlyWhenUnsetOrInvalid(t *testing.T) {
	for _, c := range []struct {
		env  string
		want float64
	}{{"", 10}, {"1", 1}, {"3", 3}, {"0.5", 10}, {"x", 10}} {
		t.Setenv(EnvTimeoutScale, c.env)
		if got := TimeoutScale(10); got != c.want {
			t.Errorf("%s=%q: TimeoutScale(10) = %v, want %v", EnvTimeoutScale, c.env, got, c.want)
		}
	}
}
