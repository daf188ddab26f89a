package codegen

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"connectrpc.com/vanguard"
	"github.com/bufbuild/protocompile/ast"
	"github.com/hashicorp/hcl/v2"
	"google.golang.org/protobuf/reflect/protoreflect"

	"parigot.dev/parigot/internal/suggest"
)

// httpRuleDiags reports, at the option, a google.api.http rule of an app's
// service that the gateway could not serve: a path template it cannot
// parse, a variable, body or response_body naming no field, a repeated
// field in the path. The gateway maps the rules with vanguard, which says
// so only when the app runs, without a position; here the same mapping is
// made at build time, one service at a time, and vanguard's words are
// given with the rule's place. (vanguard stops at a service's first bad
// rule: the next shows once that one is fixed.)
func (c *compilation) httpRuleDiags() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, p := range c.order {
		pf := c.files[p]
		if pf.res == nil || pf.file == nil {
			continue
		}
		services := pf.file.Services()
		for i := 0; i < services.Len(); i++ {
			sd := services.Get(i)
			svc := vanguard.NewServiceWithSchema(sd, http.NotFoundHandler(), vanguard.WithTargetCodecs(vanguard.CodecProto))
			_, err := vanguard.NewTranscoder([]*vanguard.Service{svc})
			if err == nil {
				continue
			}
			method, why, binding := "", err.Error(), 0
			if m := vanguardMethod.FindStringSubmatch(why); m != nil && strings.HasPrefix(m[1], string(sd.FullName())+".") {
				method, why = strings.TrimPrefix(m[1], string(sd.FullName())+"."), m[3]
				if m[2] != "" {
					binding, _ = strconv.Atoi(m[2])
					why = fmt.Sprintf("in additional_bindings #%d: %s", binding, why)
				}
			}
			why += nearestField(sd, method, why)
			var node ast.Node = serviceNode(pf.res.AST(), string(sd.Name()), method, false)
			if o := httpOption(pf.res.AST(), string(sd.Name()), method); o != nil {
				node = o
				if f := httpRuleField(o, binding, why); f != nil {
					node = f
				}
			}
			rng := c.nodeRange(pf, node)
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "The gateway cannot serve this google.api.http rule",
				Detail: fmt.Sprintf("%s. A rule's path starts with /, binds fields of the request with {field} (not a repeated one, each once), and its body and response_body name a field or \"*\" (see docs/GATEWAY.md).",
					capitalize(why)),
				Subject: &rng,
			})
		}
	}
	return diags
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
	opt, ok := o.(*ast.OptionNode)
	if !ok {
		return nil
	}
	lit, ok := opt.Val.(*ast.MessageLiteralNode)
	if !ok {
		return nil
	}
	var narrowest ast.Node
	if binding > 0 {
		var bindings []*ast.MessageLiteralNode
		for _, f := range lit.Elements {
			if f.Name == nil || f.Name.Name == nil || string(f.Name.Name.AsIdentifier()) != "additional_bindings" {
				continue
			}
			switch v := f.Val.(type) {
			case *ast.MessageLiteralNode:
				bindings = append(bindings, v)
			case *ast.ArrayLiteralNode:
				for _, e := range v.Elements {
					if m, ok := e.(*ast.MessageLiteralNode); ok {
						bindings = append(bindings, m)
					}
				}
			}
		}
		if binding > len(bindings) {
			return nil
		}
		lit = bindings[binding-1]
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
