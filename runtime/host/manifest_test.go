package host

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/internal/abi"
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

func TestScaledBudgetsSaturateInsteadOfOverflowing(t *testing.T) {
	const maxDuration = time.Duration(1<<63 - 1)
	for _, c := range []struct {
		name   string
		budget time.Duration
		scale  float64
		want   time.Duration
	}{
		{"a budget times a scale is their product", 40 * time.Millisecond, 10, 400 * time.Millisecond},
		{"the longest budget a manifest allows at the largest scale saturates", time.Hour, 1000, MaxScaledTimeout},
		{"5000h at scale 1000 saturates instead of turning negative", 5000 * time.Hour, 1000, MaxScaledTimeout},
		{"the largest duration at scale 1 saturates", maxDuration, 1, MaxScaledTimeout},
		{"the largest duration at the largest float saturates", maxDuration, math.MaxFloat64, MaxScaledTimeout},
		{"an infinite scale saturates", time.Millisecond, math.Inf(1), MaxScaledTimeout},
		{"a budget just under the ceiling is kept", MaxScaledTimeout - 1, 1, MaxScaledTimeout - 1},
		{"a scale below 1 leaves the budget as written", time.Second, 0.001, time.Second},
		{"a negative scale leaves the budget as written", time.Second, -5, time.Second},
		{"a NaN scale leaves the budget as written", time.Second, math.NaN(), time.Second},
		{"a zero budget is the default budget", 0, 1, manifest.DefaultMethodTimeout},
		{"a negative budget is the default budget, scaled", -time.Hour, 2, 2 * manifest.DefaultMethodTimeout},
	} {
		t.Run(c.name, func(t *testing.T) {
			app := &manifest.App{Services: []*manifest.Guest{{Name: "s", Kind: manifest.KindService, MethodTimeout: c.budget}}}
			if got := ScaledGuests(app, nil, c.scale)[0].MethodTimeout; got != c.want {
				t.Errorf("budget %v at scale %v: %v, want %v", c.budget, c.scale, got, c.want)
			}
		})
	}
}

func TestATimeoutScaleOfNaNIsIgnored(t *testing.T) {
	t.Setenv(EnvTimeoutScale, "NaN")
	if got := TimeoutScale(10); got != 10 {
		t.Errorf("%s=NaN: TimeoutScale(10) = %v, want 10", EnvTimeoutScale, got)
	}
}

func TestTheSmallestInboxHoldsTheLargestPayload(t *testing.T) {
	if manifest.MinInboxBytes < abi.MaxPayload {
		t.Errorf("manifest.MinInboxBytes is %d, less than abi.MaxPayload (%d): a service could refuse every largest call", manifest.MinInboxBytes, abi.MaxPayload)
	}
}

func TestAServicesInboxBoundsComeFromItsManifest(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "svc"), 0o755)
	os.WriteFile(filepath.Join(dir, "svc", "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	src := []byte("app \"a\" {\n  module = \"example.com/a\"\n}\n\nservice \"svc\" {\n  source = \"./svc\"\n  implements = [\"a.v1.A\"]\n  inbox_calls = 10\n  inbox_bytes = \"8MiB\"\n}\n")
	app, diags := manifest.Parse("parigot.hcl", src, dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	spec := GuestsFromManifest(app, nil)[0]
	in := newInstance(&run{}, spec)
	if in.maxCalls != 10 || in.maxBytes != 8<<20 {
		t.Errorf("inbox bounds %d calls and %d bytes, want 10 and 8 MiB", in.maxCalls, in.maxBytes)
	}
	if def := newInstance(&run{}, &GuestSpec{Name: "d", Kind: Service}); def.maxCalls != manifest.DefaultInboxCalls || def.maxBytes != manifest.DefaultInboxBytes {
		t.Errorf("unset bounds are %d calls and %d bytes, want the manifest's defaults", def.maxCalls, def.maxBytes)
	}
}

// A service that calls a debugged guest, directly or through another,
// waits for it while it is paused: its budget is suspended too, so that a
// breakpoint in a service reached through others does not fail the call
// being stepped through. A service off that path keeps its budget.
func TestDebugSuspendsTheBudgetsOfTheServicesThatWaitForTheDebuggedGuest(t *testing.T) {
	specs := []*GuestSpec{
		{Name: "stock", Kind: Service, MethodTimeout: 80 * time.Millisecond},
		{Name: "shop", Kind: Service, Requires: []string{"stock"}, MethodTimeout: 80 * time.Millisecond},
		{Name: "front", Kind: Service, Requires: []string{"shop"}, MethodTimeout: 80 * time.Millisecond},
		{Name: "mail", Kind: Service, MethodTimeout: 80 * time.Millisecond},
		{Name: "audit", Kind: Service, Requires: []string{"mail"}, MethodTimeout: 80 * time.Millisecond},
		{Name: "hello", Kind: Program, Requires: []string{"front"}},
	}
	Debug(specs, map[string]string{"stock": "build/stock.debug"}, "")
	want := map[string]time.Duration{"stock": DebugBudget, "shop": DebugBudget, "front": DebugBudget, "mail": 80 * time.Millisecond, "audit": 80 * time.Millisecond, "hello": 0}
	for _, s := range specs {
		if s.MethodTimeout != want[s.Name] {
			t.Errorf("%s: budget %v, want %v", s.Name, s.MethodTimeout, want[s.Name])
		}
		if debugged := s.Debug != ""; debugged != (s.Name == "stock") {
			t.Errorf("%s: debugged %v", s.Name, debugged)
		}
	}
}

// An http block's timeout reaches the run as written: it bounds a wait on
// an external API, not the guests' own work, so PARIGOT_TIMEOUT_SCALE
// leaves it alone.
func TestAnHTTPBlocksTimeoutReachesTheRunUnscaled(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "prog"), 0o755)
	os.WriteFile(filepath.Join(dir, "prog", "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	src := []byte("app \"a\" {\n  module = \"example.com/a\"\n}\n\nhttp \"api\" {\n  url = \"https://api.example.com\"\n  timeout = \"5s\"\n}\n\nhttp \"other\" {\n  url = \"https://other.example.com\"\n}\n\nprogram \"prog\" {\n  source = \"./prog\"\n  uses = [http.api]\n}\n")
	app, diags := manifest.Parse("parigot.hcl", src, dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	t.Setenv(EnvTimeoutScale, "10")
	specs := GuestsFromManifest(app, nil)[0].HTTP
	if len(specs) != 2 || specs[0].Timeout != 5*time.Second || specs[1].Timeout != manifest.DefaultHTTPTimeout {
		t.Errorf("endpoints %+v; want api's timeout 5s and other's the default", specs)
	}
}
