package manifest

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// EnvVar is a variable a guest sees in its environment (os.Getenv), with
// its value as parigot.hcl gives it.
type EnvVar struct {
	Name, Value string
	Range       hcl.Range // the line that sets it
}

// envName is what a variable's name may be: what a POSIX shell takes.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedEnvPrefix starts the names of the variables parigot itself
// sets for a guest; an app's guests may set none of them.
const reservedEnvPrefix = "PARIGOT_"

// decodeEnv reads env, the variables a guest sees, given in parigot.hcl:
// env = { LOG_LEVEL = "debug", PAGE_SIZE = 50 }. A number or a bool is
// taken as the text it is written as.
func (d *decoder) decodeEnv(attr *hcl.Attribute, g *Guest) {
	const example = `env = { LOG_LEVEL = "debug" }`
	pairs, diags := hcl.ExprMap(attr.Expr)
	if diags.HasErrors() {
		d.errf(attr.Expr.Range(), "env must be a map",
			"Write env as names and values in braces, one per line or separated by commas, for example %s.", example)
		return
	}
	seen := map[string]hcl.Range{}
	for _, p := range pairs {
		rng := hcl.RangeBetween(p.Key.Range(), p.Value.Range())
		name, ok := d.strExpr("an env name", p.Key, example)
		if !ok || !d.checkEnvName(name, p.Key.Range(), "env") {
			continue
		}
		if first, ok := seen[name]; ok {
			d.errf(p.Key.Range(), "Duplicate env variable", "%s is already set at line %d; remove one of them.", name, first.Start.Line)
			continue
		}
		seen[name] = rng
		v, vd := p.Value.Value(nil)
		d.diags = append(d.diags, vd...)
		if vd.HasErrors() {
			continue
		}
		s, err := convert.Convert(v, cty.String)
		if err != nil || s.IsNull() || !s.IsKnown() {
			d.errf(p.Value.Range(), "Incorrect type for an env value",
				"The value of %s must be a string, a number or a bool, not %s; for example %s = \"debug\".", name, typeName(v), name)
			continue
		}
		g.Env = append(g.Env, EnvVar{Name: name, Value: s.AsString(), Range: rng})
	}
}

// decodePassEnv reads pass_env, the variables a guest takes from the
// environment of the parigot command that runs it: pass_env =
// ["PAYMENTS_API_KEY"]; or, optional, pass_env_optional, those it takes
// when they are set there (and, when they are not, does not see at all).
// A name is in one of env, pass_env and pass_env_optional.
func (d *decoder) decodePassEnv(attr *hcl.Attribute, g *Guest, optional bool) {
	what := "pass_env"
	if optional {
		what = "pass_env_optional"
	}
	names, ranges, ok := d.strList(attr, what+` = ["PAYMENTS_API_KEY"]`)
	if !ok {
		return
	}
	type given struct {
		in  string
		rng hcl.Range
	}
	elsewhere := map[string]given{}
	for _, v := range g.Env {
		elsewhere[v.Name] = given{"env", v.Range}
	}
	if optional { // pass_env is decoded first
		for i, name := range g.PassEnv {
			elsewhere[name] = given{"pass_env", g.PassEnvRanges[i]}
		}
	}
	listed := map[string]hcl.Range{}
	for i, name := range names {
		if !d.checkEnvName(name, ranges[i], what) {
			continue
		}
		if first, ok := elsewhere[name]; ok {
			d.errf(ranges[i], "Duplicate env variable",
				"%s is already in %s at line %d; a variable is either given in env, passed from the environment by pass_env, or passed when it is set there by pass_env_optional: one of them.", name, first.in, first.rng.Start.Line)
			continue
		}
		if first, ok := listed[name]; ok {
			d.errf(ranges[i], "Duplicate "+what+" entry", "%s is already listed at line %d, column %d; remove this entry.", name, first.Start.Line, first.Start.Column)
			continue
		}
		listed[name] = ranges[i]
		if optional {
			g.PassEnvOptional = append(g.PassEnvOptional, name)
			continue
		}
		g.PassEnv = append(g.PassEnv, name)
		g.PassEnvRanges = append(g.PassEnvRanges, ranges[i])
	}
}

// checkEnvName reports a name of what (env, pass_env) that a guest's
// environment cannot hold, or that parigot keeps for itself.
func (d *decoder) checkEnvName(name string, rng hcl.Range, what string) bool {
	switch {
	case !envName.MatchString(name):
		d.errf(rng, "Invalid env variable name",
			"%q cannot name an environment variable in %s: use letters, digits and underscores, not starting with a digit, for example LOG_LEVEL.", name, what)
		return false
	case strings.HasPrefix(strings.ToUpper(name), reservedEnvPrefix):
		d.errf(rng, "Reserved env variable name",
			"Names starting with %s are parigot's own, set for a guest by parigot; name the variable otherwise, for example %s.", reservedEnvPrefix, strings.TrimPrefix(strings.ToUpper(name), reservedEnvPrefix))
		return false
	}
	return true
}

// MissingPassEnv reports each variable a guest's pass_env names that
// lookup (os.LookupEnv, for the environment of the command that runs the
// app) does not find: a run without it would start guests that find an
// empty value where they expect, say, an API key.
func (a *App) MissingPassEnv(lookup func(string) (string, bool)) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, g := range a.Guests() {
		for i, name := range g.PassEnv {
			if _, ok := lookup(name); ok {
				continue
			}
			rng := g.PassEnvRanges[i]
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("%s is not set", name),
				Detail: fmt.Sprintf("%s %s takes %s from the environment parigot runs in (pass_env), where it is not set. Set it for the run (export %s=...), or, if the guest can do without it, move it to pass_env_optional.",
					g.Kind, g.Name, name, name),
				Subject: &rng,
			})
		}
	}
	return diags
}

// Environ is what guest g sees as its environment, as KEY=VALUE pairs: its
// env, then its pass_env, each with the value lookup finds (empty when it
// finds none: MissingPassEnv says so before a run), then those of its
// pass_env_optional that lookup finds.
func (g *Guest) Environ(lookup func(string) (string, bool)) []string {
	var out []string
	for _, v := range g.Env {
		out = append(out, v.Name+"="+v.Value)
	}
	for _, name := range g.PassEnv {
		v, _ := lookup(name)
		out = append(out, name+"="+v)
	}
	for _, name := range g.PassEnvOptional {
		if v, ok := lookup(name); ok {
			out = append(out, name+"="+v)
		}
	}
	return out
}
