package codegen

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"connectrpc.com/vanguard"
	"github.com/bufbuild/protocompile/ast"
	"github.com/hashicorp/hcl/v2"
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
			method, why := "", err.Error()
			if m := vanguardMethod.FindStringSubmatch(why); m != nil && strings.HasPrefix(m[1], string(sd.FullName())+".") {
				method, why = strings.TrimPrefix(m[1], string(sd.FullName())+"."), m[2]
			}
			var node ast.Node = serviceNode(pf.res.AST(), string(sd.Name()), method, false)
			if o := httpOption(pf.res.AST(), string(sd.Name()), method); o != nil {
				node = o
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

// vanguardMethod picks the method and the reason out of vanguard's error
// for a rule it cannot map.
var vanguardMethod = regexp.MustCompile(`failed to configure method ([\w.]+): (?:failed to add REST route for method \S+: )?(.*)$`)

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
