package manifest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// program is a program block with body's lines, for the env tests.
func program(body string) string {
	return "program \"hello\" {\n  source = \"./hello\"\n" + body + "}\n" + appBlock
}

// A guest's env and pass_env reach its environment: env's values as
// written (a number as its text), then pass_env's as the running
// command's environment has them.
func TestAGuestsEnvironmentIsItsEnvThenItsPassEnv(t *testing.T) {
	src := program("  env = {\n    LOG_LEVEL = \"debug\"\n    PAGE_SIZE = 50\n    \"VERBOSE\" = true\n  }\n  pass_env = [\"API_KEY\"]\n")
	app, diags := Parse("parigot.hcl", []byte(src), "testdata/app")
	if diags.HasErrors() {
		t.Fatalf("diagnostics:\n%s", describe(diags))
	}
	lookup := func(name string) (string, bool) {
		return map[string]string{"API_KEY": "k-123"}[name], name == "API_KEY"
	}
	got := app.Programs[0].Environ(lookup)
	want := []string{"LOG_LEVEL=debug", "PAGE_SIZE=50", "VERBOSE=true", "API_KEY=k-123"}
	if !slices.Equal(got, want) {
		t.Errorf("environment %q, want %q", got, want)
	}
	if d := app.MissingPassEnv(lookup); len(d) != 0 {
		t.Errorf("a pass_env variable that is set is said missing:\n%s", describe(d))
	}
}

// A pass_env_optional variable reaches the guest when the running
// command's environment sets it, even empty, and is absent otherwise (a
// guest's os.LookupEnv tells the two apart): no run stops for it.
func TestAPassEnvOptionalVariableIsPassedOnlyWhenSet(t *testing.T) {
	app, diags := Parse("parigot.hcl", []byte(program("  pass_env = [\"REGION\"]\n  pass_env_optional = [\"API_KEY\", \"TRACE\"]\n")), "testdata/app")
	if diags.HasErrors() {
		t.Fatalf("diagnostics:\n%s", describe(diags))
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"set", map[string]string{"REGION": "eu", "API_KEY": "k-1", "TRACE": ""}, []string{"REGION=eu", "API_KEY=k-1", "TRACE="}},
		{"not set", map[string]string{"REGION": "eu"}, []string{"REGION=eu"}},
	} {
		lookup := func(name string) (string, bool) { v, ok := tc.env[name]; return v, ok }
		if got := app.Programs[0].Environ(lookup); !slices.Equal(got, tc.want) {
			t.Errorf("%s: environment %q, want %q", tc.name, got, tc.want)
		}
		if d := app.MissingPassEnv(lookup); len(d) != 0 {
			t.Errorf("%s: a run would stop:\n%s", tc.name, describe(d))
		}
	}
}

// A pass_env variable the running command's environment lacks is an
// error at its entry, saying how to set it.
func TestAPassEnvVariableThatIsNotSetIsAnErrorAtItsEntry(t *testing.T) {
	app, diags := Parse("parigot.hcl", []byte(program("  pass_env = [\"API_KEY\", \"REGION\"]\n")), "testdata/app")
	if diags.HasErrors() {
		t.Fatalf("diagnostics:\n%s", describe(diags))
	}
	d := theOneError(t, app.MissingPassEnv(func(name string) (string, bool) { return "eu", name == "REGION" }))
	if d.Summary != "API_KEY is not set" || !strings.Contains(d.Detail, "program hello takes API_KEY from the environment") || !strings.Contains(d.Detail, "export API_KEY=") {
		t.Errorf("the error says %q: %q", d.Summary, d.Detail)
	}
	if at := fmt.Sprintf("%d:%d", d.Subject.Start.Line, d.Subject.Start.Column); at != "3:15" {
		t.Errorf("the error is at %s, want 3:15 (the entry)", at)
	}
}

// Mistakes in env and pass_env are reported at the name or value at fault.
func TestEnvMistakesAreReportedWhereTheyAre(t *testing.T) {
	for _, tc := range []struct {
		name, body, summary, detail, at string
	}{
		{"env that is not a map", "  env = [\"A=1\"]\n", "env must be a map", `env = { LOG_LEVEL = "debug" }`, "3:9"},
		{"a name a shell would not take", "  env = { \"LOG-LEVEL\" = \"x\" }\n", "Invalid env variable name", "letters, digits and underscores", "3:11"},
		{"a name of parigot's own", "  env = { PARIGOT_MODE = \"x\" }\n", "Reserved env variable name", "for example MODE", "3:11"},
		{"a name set twice", "  env = {\n    A = \"1\"\n    A = \"2\"\n  }\n", "Duplicate env variable", "already set at line 4", "5:5"},
		{"a value that is a list", "  env = { A = [\"1\"] }\n", "Incorrect type for an env value", "a string, a number or a bool, not tuple", "3:15"},
		{"pass_env that is not a list", "  pass_env = \"API_KEY\"\n", "pass_env must be a list", "", "3:14"},
		{"a pass_env name that env sets", "  env = { API_KEY = \"x\" }\n  pass_env = [\"API_KEY\"]\n", "Duplicate env variable", "API_KEY is already in env at line 3; a variable is either given in env, passed from the environment by pass_env, or passed when it is set there by pass_env_optional", "4:15"},
		{"a pass_env_optional name that pass_env lists", "  pass_env = [\"API_KEY\"]\n  pass_env_optional = [\"API_KEY\"]\n", "Duplicate env variable", "API_KEY is already in pass_env at line 3", "4:24"},
		{"a pass_env_optional name listed twice", "  pass_env_optional = [\"API_KEY\", \"API_KEY\"]\n", "Duplicate pass_env_optional entry", "already listed at line 3, column 24", "3:35"},
		{"a pass_env_optional name of parigot's own", "  pass_env_optional = [\"PARIGOT_NATS_TOKEN\"]\n", "Reserved env variable name", "parigot's own", "3:24"},
		{"a pass_env name listed twice", "  pass_env = [\"API_KEY\", \"REGION\", \"API_KEY\"]\n", "Duplicate pass_env entry", "already listed at line 3, column 15; remove this entry", "3:36"},
		{"a pass_env name of parigot's own", "  pass_env = [\"PARIGOT_NATS_TOKEN\"]\n", "Reserved env variable name", "parigot's own", "3:15"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Parse("parigot.hcl", []byte(program(tc.body)), "testdata/app")
			d := theOneError(t, diags)
			if !strings.Contains(d.Summary, tc.summary) || !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("the error says %q: %q; want %q and %q", d.Summary, d.Detail, tc.summary, tc.detail)
			}
			if at := fmt.Sprintf("%d:%d", d.Subject.Start.Line, d.Subject.Start.Column); at != tc.at {
				t.Errorf("the error is at %s, want %s", at, tc.at)
			}
		})
	}
}
