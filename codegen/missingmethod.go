package codegen

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"google.golang.org/protobuf/compiler/protogen"
)

// serverMethod is a unary method of a service's generated Server
// interface: what a guest implementing the service must declare, for
// MissingMethodHint.
type serverMethod struct {
	goImportPath string    // the Go package of the interface
	goPackage    string    // that package's name ("shopv1")
	iface        string    // its name ("ShopServer")
	goName       string    // the method's Go name ("Farewell")
	fullName     string    // the rpc's proto name ("shop.v1.Shop.Farewell")
	file         string    // the proto file that declares it, by import path
	service, rpc string    // the service's and the rpc's proto names, for finding it in the file
	in, out      goMessage // its request and reply
	rng          hcl.Range // where the rpc is declared (see placedMethods)
}

// goMessage is a generated Go message type: its package and its name.
type goMessage struct {
	importPath, packageName, name string
}

// serverMethods returns the unary methods of f's services, as their
// generated Server interfaces declare them.
func serverMethods(gen *protogen.Plugin, f *protogen.File) []serverMethod {
	message := func(m *protogen.Message) goMessage {
		pkg := path.Base(string(m.GoIdent.GoImportPath))
		if of := gen.FilesByPath[m.Desc.ParentFile().Path()]; of != nil {
			pkg = string(of.GoPackageName)
		}
		return goMessage{importPath: string(m.GoIdent.GoImportPath), packageName: pkg, name: m.GoIdent.GoName}
	}
	var out []serverMethod
	for _, s := range f.Services {
		for _, m := range s.Methods {
			if isStreaming(m) {
				continue
			}
			out = append(out, serverMethod{
				goImportPath: string(f.GoImportPath), goPackage: string(f.GoPackageName), iface: s.GoName + "Server", goName: m.GoName,
				fullName: string(m.Desc.FullName()), file: f.Desc.Path(),
				service: string(s.Desc.Name()), rpc: string(m.Desc.Name()),
				in: message(m.Input), out: message(m.Output),
			})
		}
	}
	return out
}

// placedMethods sets where each of ms is declared.
func (c *compilation) placedMethods(ms []serverMethod) []serverMethod {
	for i, m := range ms {
		if pf := c.files[m.file]; pf != nil && pf.res != nil {
			ms[i].rng = c.declRange(pf, serviceNode(pf.res.AST(), m.service, m.rpc, false))
		}
	}
	return ms
}

// GoNames says how a Go file refers to packages: the name it imports a
// package by, given the package's import path and its own name (the name
// to use where the file does not import it yet).
type GoNames func(importPath, packageName string) string

// GoMethod is a method a guest's type declares, as its Go file writes it:
// its name, and its parameters' and results' types, each as the file
// writes it ("context.Context", "*shop.GreetRequest",
// "*guest.Future[*shop.GreetResponse]").
type GoMethod struct {
	Name            string
	Params, Results []string
}

// MissingMethodHint says what to do when the Go compiler finds that a
// guest's type recvType ("*server") does not implement the Server
// interface iface of the generated package importPath ("*server does not
// implement shopv1.ShopServer (missing method Farewell)"): for each of
// the interface's methods the type lacks (has holds the methods it
// declares; the compiler names only the first it misses), a warning at
// the rpc in its .proto with what to do, its receiver named recvName, its
// types named as names says. When has holds a method of that signature
// that the interface does not take (the rpc was renamed in the .proto:
// Greet to SayHello), the warning says to rename it; else it shows the
// method to add. Nil when iface is none of the app's generated
// interfaces. Result.Sources holds the files they point into.
func (r *Result) MissingMethodHint(importPath, iface string, has []GoMethod, recvType, recvName string, names GoNames) hcl.Diagnostics {
	var ifaceMethods []serverMethod
	for _, m := range r.methods {
		if m.goImportPath == importPath && m.iface == iface {
			ifaceMethods = append(ifaceMethods, m)
		}
	}
	var hints hcl.Diagnostics
	for _, m := range ifaceMethods {
		if slices.ContainsFunc(has, func(h GoMethod) bool { return h.Name == m.goName }) {
			continue
		}
		typ := func(g goMessage) string { return names(g.importPath, g.packageName) + "." + g.name }
		out, guest, ctx := typ(m.out), names(string(guestPackage), "guest"), names("context", "context")
		want := GoMethod{Name: m.goName, Params: []string{ctx + ".Context", "*" + typ(m.in)},
			Results: []string{"*" + guest + ".Future[*" + out + "]"}}
		var renamed []string // the type's methods of m's signature that iface does not take
		for _, h := range has {
			if slices.Equal(h.Params, want.Params) && slices.Equal(h.Results, want.Results) &&
				!slices.ContainsFunc(ifaceMethods, func(o serverMethod) bool { return o.goName == h.Name }) {
				renamed = append(renamed, h.Name)
			}
		}
		served := fmt.Sprintf("%s serves it (as a %s.%s), and has no method %s.", recvType, names(m.goImportPath, m.goPackage), m.iface, m.goName)
		var detail string
		switch len(renamed) {
		case 0:
			detail = fmt.Sprintf("%s Add it beside its others, for example:\n\n"+
				"    func (%s %s) %s(%s) %s {\n"+
				"    \treturn %s.Rejected[*%s](%s.Errorf(%s.CodeUnimplemented, \"%s is not written yet\"))\n"+
				"    }",
				served, recvName, recvType, m.goName, "ctx "+want.Params[0]+", req "+want.Params[1], want.Results[0],
				guest, out, guest, guest, m.goName)
		case 1:
			detail = fmt.Sprintf("%s Its method %s has the rpc's signature, and %s takes no method of that name: if the rpc was renamed, rename %s to %s.",
				served, renamed[0], m.iface, renamed[0], m.goName)
		default:
			detail = fmt.Sprintf("%s Its methods %s have the rpc's signature, and %s takes none of them: if the rpc was renamed, rename the one that serves it to %s.",
				served, strings.Join(renamed, ", "), m.iface, m.goName)
		}
		rng := m.rng
		hints = append(hints, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  fmt.Sprintf("No method for rpc %s", m.fullName),
			Detail:   detail,
			Subject:  &rng,
		})
	}
	return hints
}
