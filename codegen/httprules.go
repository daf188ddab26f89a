package codegen

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"connectrpc.com/vanguard"
	"github.com/bufbuild/protocompile/ast"
	"github.com/hashicorp/hcl/v2"
	"google.golang.org/protobuf/reflect/protoreflect"

	"parigot.dev/parigot/internal/diag"
	"parigot.dev/parigot/internal/suggest"
)

// Gateway is a gateway block of the app, as far as the protos go: the
// proto services it serves on one port, which share its REST routes.
type Gateway struct {
	Name string
	// Guests are the services of the app it serves, in the order the
	// gateway maps them.
	Guests []GatewayGuest
}

// GatewayGuest is a service of the app that a gateway serves.
type GatewayGuest struct {
	Name       string   // as parigot.hcl names it
	Implements []string // the full names of the proto services it implements, in order
}

// appService is a proto service of one of the app's own files, and the
// guest that implements it (when known: "" otherwise).
type appService struct {
	pf    *protoFile
	sd    protoreflect.ServiceDescriptor
	guest string
}

// httpRuleDiags reports, at the option, a google.api.http rule of an app's
// service that the gateway could not serve: a path template it cannot
// parse, a variable, body or response_body naming no field, a repeated
// field in the path, a route another rule maps already. The gateway maps
// the rules with vanguard, which says so only when the app runs, without a
// position; here the same mapping is made at build time and vanguard's
// words are given with the rule's place: one service at a time, then the
// services of each gateway together, as the gateway maps them, for the
// routes two services map. vanguard stops at the first rule it refuses;
// mapAll sets that rule aside and maps again, so that one build reports
// every rule, each at its place, in the order of the files.
func (c *compilation) httpRuleDiags() hcl.Diagnostics {
	var diags hcl.Diagnostics
	services := map[string]appService{}
	aside := asides{} // the rules refused on their own
	for _, p := range c.order {
		pf := c.files[p]
		if pf.res == nil || pf.file == nil {
			continue
		}
		sds := pf.file.Services()
		for i := 0; i < sds.Len(); i++ {
			s := appService{pf: pf, sd: sds.Get(i)}
			services[string(s.sd.FullName())] = s
			for _, err := range mapAll(aside, s) {
				diags = append(diags, c.ruleDiag([]appService{s}, err, ""))
			}
		}
	}
	reported := map[hcl.Pos]bool{} // two gateways serving the same two services make one error each
	for _, g := range c.in.Gateways {
		var served []appService
		for _, guest := range g.Guests {
			for _, name := range guest.Implements {
				if s, ok := services[name]; ok && !slices.ContainsFunc(served, func(o appService) bool { return o.sd == s.sd }) {
					s.guest = guest.Name
					served = append(served, s)
				}
			}
		}
		if len(served) < 2 {
			continue
		}
		for _, err := range mapAll(aside.clone(), served...) {
			d := c.ruleDiag(served, err, g.Name)
			if !reported[d.Subject.Start] {
				reported[d.Subject.Start] = true
				diags = append(diags, d)
			}
		}
	}
	// In the order of the files, as they are read.
	slices.SortStableFunc(diags, func(a, b *hcl.Diagnostic) int {
		return cmp.Or(strings.Compare(a.Subject.Filename, b.Subject.Filename), a.Subject.Start.Byte-b.Subject.Start.Byte)
	})
	return diags
}

// mapAll maps the REST routes of services as the gateway does, but for
// the rules set aside in aside, and returns vanguard's error for every
// rule it refuses, in the order it meets them: each refused rule is added
// to aside, and the rest mapped again, until vanguard maps them all or
// refuses what it cannot say the rule of.
func mapAll(aside asides, services ...appService) []error {
	var errs []error
	for {
		err := mapRules(aside, services...)
		if err == nil {
			return errs
		}
		errs = append(errs, err)
		method, binding, _, ok := refusedRule(err)
		if !ok || aside[method][binding] {
			return errs
		}
		aside.add(method, binding)
	}
}

// mapRules maps the REST routes of services as the gateway does, but for
// the rules set aside in aside, and returns vanguard's error, if any.
func mapRules(aside asides, services ...appService) error {
	var vsvcs []*vanguard.Service
	for _, s := range services {
		vsvcs = append(vsvcs, vanguard.NewServiceWithSchema(aside.apply(s.sd), http.NotFoundHandler(), vanguard.WithTargetCodecs(vanguard.CodecProto)))
	}
	_, err := vanguard.NewTranscoder(vsvcs)
	return err
}

// refusedRule picks, out of vanguard's error for a rule it cannot map,
// the method ("package.Service.Method"), the rule (0: the rule itself,
// n: its additional binding #n) and the reason; ok is false when the
// error names no method.
func refusedRule(err error) (method string, binding int, why string, ok bool) {
	m := vanguardMethod.FindStringSubmatch(err.Error())
	if m == nil {
		return "", 0, err.Error(), false
	}
	if m[2] != "" {
		binding, _ = strconv.Atoi(m[2])
	}
	return m[1], binding, m[3], true
}

// ruleDiag is the diagnostic of err, vanguard's refusal to map the rules
// of services (served by the gateway named gateway, when it is not ""),
// at the rule it refused.
func (c *compilation) ruleDiag(services []appService, err error, gateway string) *hcl.Diagnostic {
	s := services[0]
	method, why, binding := "", err.Error(), 0
	if full, n, reason, ok := refusedRule(err); ok {
		for _, o := range services {
			if name, ok := strings.CutPrefix(full, string(o.sd.FullName())+"."); ok && o.sd.Methods().ByName(protoreflect.Name(name)) != nil {
				s, method, why, binding = o, name, reason, n
			}
		}
	}
	var node ast.Node = serviceNode(s.pf.res.AST(), string(s.sd.Name()), method, false)
	if o := httpOption(s.pf.res.AST(), string(s.sd.Name()), method); o != nil {
		node = o
		if f := httpRuleField(o, binding, why); f != nil {
			node = f
		}
	}
	rng := c.nodeRange(s.pf, node)
	if d := c.routeTakenDiag(services, s, method, node, why, gateway); d != nil {
		d.Subject = &rng
		return d
	}
	if binding > 0 {
		why = fmt.Sprintf("in additional_bindings #%d: %s", binding, why)
	}
	why += nearestField(s.sd, method, why)
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "The gateway cannot serve this google.api.http rule",
		Detail: fmt.Sprintf("%s. A rule's path starts with /, binds fields of the request with {field} (not a repeated one, each once), and its body and response_body name a field or \"*\" (see docs/GATEWAY.md).",
			capitalize(why)),
		Subject: &rng,
	}
}

// routeTaken picks vanguard's reason for refusing a rule whose route
// (HTTP method and path, variables as *) another rule maps already: the
// path, the HTTP method, and the method of the rule there first.
var routeTaken = regexp.MustCompile(`^target for (\S+), method (\S+) already exists: ([\w.]+)$`)

// routeTakenDiag is the diagnostic of a rule of s's method (at node, its
// path) whose route another rule of services maps already, as why,
// vanguard's reason, says; nil when why says something else. It names
// the rule there first, where it is, and what to do: change a path, or,
// when the two are methods of different services that gateway serves
// together, serve them from different gateways.
func (c *compilation) routeTakenDiag(services []appService, s appService, method string, node ast.Node, why, gateway string) *hcl.Diagnostic {
	m := routeTaken.FindStringSubmatch(why)
	if m == nil || method == "" {
		return nil
	}
	pattern, verb, firstName := m[1], m[2], m[3]
	route := verb + " " + pattern
	if f, ok := node.(*ast.MessageFieldNode); ok {
		if sv, ok := f.Val.(ast.StringValueNode); ok {
			route = verb + " " + sv.AsString()
		}
	}
	second := fmt.Sprintf("%s.%s", s.sd.FullName(), method)
	first, where := firstName, ""
	var firstService appService
	for _, o := range services {
		name, ok := strings.CutPrefix(firstName, string(o.sd.FullName())+".")
		if !ok || o.sd.Methods().ByName(protoreflect.Name(name)) == nil {
			continue
		}
		firstService = o
		var n ast.Node = serviceNode(o.pf.res.AST(), string(o.sd.Name()), name, false)
		if opt := httpOption(o.pf.res.AST(), string(o.sd.Name()), name); opt != nil {
			n = opt
			if f := ruleWithRoute(opt, verb, pattern); f != nil {
				n = f
			}
		}
		where = " at " + diag.Position(c.nodeRange(o.pf, n))
	}
	if firstName == second {
		first = "another of its rules"
	}
	do := "Change the path of one of the two rules."
	if firstService.sd != nil && firstService.sd != s.sd && gateway != "" {
		first = fmt.Sprintf("%s, which gateway %q serves too,", firstName, gateway)
		if firstService.guest != s.guest && firstService.guest != "" && s.guest != "" {
			do = fmt.Sprintf("Change the path of one of the two rules, or serve the services %q and %q from different gateways.", firstService.guest, s.guest)
		}
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Route %s is mapped twice", route),
		Detail: fmt.Sprintf("The google.api.http rule of %s maps %s, and %s maps it already%s: the gateway can send a request for it to one method only. %s",
			second, route, first, where, do),
	}
}

// ruleWithRoute finds, in the google.api.http option o, the path of the
// rule or additional binding mapping the route of vanguard's words: the
// HTTP method verb and the path pattern (whose variables are written *
// or **, or as what they match). Nil when none is found.
func ruleWithRoute(o ast.Node, verb, pattern string) ast.Node {
	if unescaped, err := url.PathUnescape(pattern); err == nil {
		pattern = unescaped
	}
	for _, lit := range ruleLiterals(o) {
		for _, f := range lit.Elements {
			sv, ok := f.Val.(ast.StringValueNode)
			if !ok || f.Name == nil || f.Name.Name == nil || !strings.EqualFold(string(f.Name.Name.AsIdentifier()), verb) {
				continue
			}
			if routePattern(sv.AsString()) == pattern {
				return f
			}
		}
	}
	return nil
}

// pathVariable is a variable of a path template: {field} or
// {field=pattern}.
var pathVariable = regexp.MustCompile(`\{[^}=]*(?:=([^}]*))?\}`)

// routePattern is template, a rule's path, as vanguard writes the route it
// maps: each variable as what it matches (* when it says nothing).
func routePattern(template string) string {
	return pathVariable.ReplaceAllStringFunc(template, func(v string) string {
		if m := pathVariable.FindStringSubmatch(v); m[1] != "" {
			return m[1]
		}
		return "*"
	})
}

// ruleLiterals are the rule of the google.api.http option o and its
// additional bindings, in order: ruleLiterals(o)[n] is additional binding
// #n. Nil when o is not written as a message literal.
func ruleLiterals(o ast.Node) []*ast.MessageLiteralNode {
	opt, ok := o.(*ast.OptionNode)
	if !ok {
		return nil
	}
	lit, ok := opt.Val.(*ast.MessageLiteralNode)
	if !ok {
		return nil
	}
	rules := []*ast.MessageLiteralNode{lit}
	for _, f := range lit.Elements {
		if f.Name == nil || f.Name.Name == nil || string(f.Name.Name.AsIdentifier()) != "additional_bindings" {
			continue
		}
		switch v := f.Val.(type) {
		case *ast.MessageLiteralNode:
			rules = append(rules, v)
		case *ast.ArrayLiteralNode:
			for _, e := range v.Elements {
				if m, ok := e.(*ast.MessageLiteralNode); ok {
					rules = append(rules, m)
				}
			}
		}
	}
	return rules
}

// nearestField is a "did you mean" for a rule of method naming a field
// its request does not have (why, vanguard's reason, quotes the name),
// when one is near: "" otherwise.
func nearestField(sd protoreflect.ServiceDescriptor, method, why string) string {
	m := ruleFieldPath.FindStringSubmatch(why)
	md := sd.Methods().ByName(protoreflect.Name(method))
	if m == nil || md == nil || strings.Contains(m[1], ".") {
		return ""
	}
	var names []string
	fields := md.Input().Fields()
	for i := range fields.Len() {
		names = append(names, string(fields.Get(i).Name()))
	}
	if near := suggest.Closest(m[1], names); near != "" && near != m[1] {
		return fmt.Sprintf(" (did you mean %s?)", near)
	}
	return ""
}

// vanguardMethod picks the method and the reason out of vanguard's error
// for a rule it cannot map.
var vanguardMethod = regexp.MustCompile(`failed to configure method ([\w.]+): (?:failed to add REST route (?:\(add'l binding #(\d+)\) )?for method \S+: )?(.*)$`)

// ruleFieldPath picks the field path out of vanguard's reason for a rule
// it cannot map: the body, response_body or path variable it names.
var ruleFieldPath = regexp.MustCompile(`(?:field path|body path|path variable) "([^"]*)"`)

// httpRuleField narrows the google.api.http option o to the part of it
// that why, vanguard's reason, is about: the field of the rule (or of its
// binding-th additional binding, from 1) whose value names the field path
// why quotes (body: "bok", get: "/v1/{nme}"), or the binding itself, or
// the rule's path when why names no field. Nil when nothing narrower is
// found.
func httpRuleField(o ast.Node, binding int, why string) ast.Node {
	rules := ruleLiterals(o)
	if binding >= len(rules) {
		return nil
	}
	lit := rules[binding]
	var narrowest ast.Node
	if binding > 0 {
		narrowest = lit
	}
	m := ruleFieldPath.FindStringSubmatch(why)
	for _, f := range lit.Elements {
		sv, ok := f.Val.(ast.StringValueNode)
		if !ok || f.Name == nil || f.Name.Name == nil {
			continue
		}
		name, val := string(f.Name.Name.AsIdentifier()), sv.AsString()
		switch {
		case m != nil && (val == m[1] || strings.Contains(val, "{"+m[1]+"}") || strings.Contains(val, "{"+m[1]+"=")):
			return f
		case m == nil && slices.Contains([]string{"get", "put", "post", "delete", "patch"}, name):
			return f // a path template that does not parse
		}
	}
	return narrowest
}

// httpOption finds the google.api.http option of method in service, or nil.
func httpOption(file *ast.FileNode, service, method string) ast.Node {
	if file == nil || method == "" {
		return nil
	}
	for _, d := range file.Decls {
		sn, ok := d.(*ast.ServiceNode)
		if !ok || sn.Name.Val != service {
			continue
		}
		for _, e := range sn.Decls {
			rpc, ok := e.(*ast.RPCNode)
			if !ok || rpc.Name.Val != method {
				continue
			}
			for _, rd := range rpc.Decls {
				if o, ok := rd.(*ast.OptionNode); ok && o.Name != nil {
					for _, part := range o.Name.Parts {
						if part.Name != nil && string(part.Name.AsIdentifier()) == "google.api.http" {
							return o
						}
					}
				}
			}
		}
	}
	return nil
}
