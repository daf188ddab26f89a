package codegen

import (
	"bytes"
	"errors"
	"fmt"
	"go/token"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bufbuild/protocompile/ast"
	"github.com/bufbuild/protocompile/reporter"
	"github.com/hashicorp/hcl/v2"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	// parigot's own protos count among the files whose names an app may
	// not declare again (see linkedNameDiags), whichever of them the
	// binary running codegen links otherwise.
	_ "parigot.dev/parigot/proto/parigot/errors/v1"
	_ "parigot.dev/parigot/proto/parigot/id/v1"
)

// Every full name an app's proto files declare is registered, when a
// program starts, in protobuf-go's registry of the program's files, which
// refuses (by panicking) a name that is there already. The compiler sees
// a name declared twice only within one proto block; the two checks here
// see what it cannot: a name declared in two blocks, and one declared by
// a file parigot links into the programs that run the app's code (the
// well-known types, google/api's annotations, parigot's own protos).

// sameNameDiags reports a name that the app's files of two proto blocks
// declare, at the second declaration, naming the first's position, as
// the compiler does within one block. (A name a standard import or a
// proto parigot ships declares is linkedNameDiags's.)
func (c *compilation) sameNameDiags() hcl.Diagnostics {
	type declared struct {
		pf   *protoFile
		node ast.Node
	}
	var diags hcl.Diagnostics
	first := map[protoreflect.FullName]declared{}
	for _, p := range c.order {
		pf := c.files[p]
		nodes := c.appDeclarations(pf)
		if nodes == nil {
			continue
		}
		declarations(pf.file, func(d protoreflect.Descriptor) bool {
			prev, ok := first[d.FullName()]
			if !ok {
				first[d.FullName()] = declared{pf, nodes[d.FullName()]}
				return true
			}
			rng := c.declRange(pf, nodes[d.FullName()])
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Symbol %q already defined at %s", d.FullName(), c.declPosition(prev.pf, prev.node)),
				Detail:   duplicateNameDetail,
				Subject:  &rng,
			})
			return false
		})
	}
	return diags
}

// duplicateNameDetail says what to do about a name declared twice.
const duplicateNameDetail = "A full name (package and name) is declared once among all of an app's proto files, those of every proto block in parigot.hcl included: their Go code is linked into one program, where protobuf refuses a second declaration. Rename one of the two, or give one file a package of its own."

// linkedNameDiags reports the names that a file whose Go code is
// generated into the app declares and a file the running binary links
// declares already: parigot links those files (the well-known types,
// google/api's, its own) into the programs that run the app's code, so
// such a program would stop at its start.
func (c *compilation) linkedNameDiags() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, p := range c.order {
		pf := c.files[p]
		nodes := c.appDeclarations(pf)
		if !pf.gen || nodes == nil {
			continue
		}
		declarations(pf.file, func(d protoreflect.Descriptor) bool {
			linked, err := protoregistry.GlobalFiles.FindDescriptorByName(d.FullName())
			if err != nil {
				return true
			}
			if c.appsOwn(pf, linked.ParentFile()) {
				return false
			}
			rng := c.declRange(pf, nodes[d.FullName()])
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("%s is already declared by %s", d.FullName(), linked.ParentFile().Path()),
				Detail:   linkedNameDetail(pf, d, linked),
				Subject:  &rng,
			})
			return false
		})
	}
	return diags
}

// appsOwn reports whether linked, a file the running binary links, is
// the app's file pf as generated before, rather than another's: so it is
// in a test of the app that builds the app (package apptest does), whose
// binary links the app's generated code. It is when it has pf's import
// path, or a Go package inside the app's module.
func (c *compilation) appsOwn(pf *protoFile, linked protoreflect.FileDescriptor) bool {
	if linked.Path() == pf.path {
		return true
	}
	opts, ok := linked.Options().(*descriptorpb.FileOptions)
	return ok && opts.GetGoPackage() != "" && inModule(goImportPath(opts.GetGoPackage()), c.in.Module)
}

// linkedNameDetail says why the app may not declare d, which linked
// declares, and what to do instead.
func linkedNameDetail(pf *protoFile, d, linked protoreflect.Descriptor) string {
	file := linked.ParentFile()
	from := file.Path()
	if opts, ok := file.Options().(*descriptorpb.FileOptions); ok && opts.GetGoPackage() != "" {
		from = fmt.Sprintf("%s (Go package %s)", from, goImportPath(opts.GetGoPackage()))
	}
	detail := fmt.Sprintf("parigot links %s into the programs that run the app's code (every guest, and the tests' processes), and protobuf refuses a second declaration of %s when such a program starts. Declare the app's names in a package of its own", from, d.FullName())
	if pkg := packageFor(pf.path); pkg != "" && pkg != string(pf.file.Package()) {
		detail += fmt.Sprintf(", for this file for example\n    package %s;\n", pkg)
	} else {
		detail += ". "
	}
	if imp := importableFileOf(linked.FullName()); imp != "" {
		detail += fmt.Sprintf("To use %s itself, import %s.", linked.FullName(), imp)
	}
	return strings.TrimSpace(detail)
}

// packageFor is the proto package a file at import path p would have by
// the usual convention (bookstore/v1/bookstore.proto: bookstore.v1), or
// "" when its path makes none.
func packageFor(p string) string {
	dir := path.Dir(p)
	if dir == "." {
		dir = strings.TrimSuffix(path.Base(p), ".proto")
	}
	parts := strings.Split(dir, "/")
	for _, part := range parts {
		if !token.IsIdentifier(part) {
			return ""
		}
	}
	return strings.Join(parts, ".")
}

// declarations calls fn with each descriptor of fd that protobuf-go's
// registry holds by name: messages, enums, enum values, extensions and
// services. What a message declares is visited only when fn returns true
// for the message.
func declarations(fd protoreflect.FileDescriptor, fn func(protoreflect.Descriptor) bool) {
	enums := func(es protoreflect.EnumDescriptors) {
		for i := 0; i < es.Len(); i++ {
			if e := es.Get(i); fn(e) {
				for j := 0; j < e.Values().Len(); j++ {
					fn(e.Values().Get(j))
				}
			}
		}
	}
	extensions := func(xs protoreflect.ExtensionDescriptors) {
		for i := 0; i < xs.Len(); i++ {
			fn(xs.Get(i))
		}
	}
	var messages func(protoreflect.MessageDescriptors)
	messages = func(ms protoreflect.MessageDescriptors) {
		for i := 0; i < ms.Len(); i++ {
			if m := ms.Get(i); fn(m) {
				enums(m.Enums())
				extensions(m.Extensions())
				messages(m.Messages())
			}
		}
	}
	enums(fd.Enums())
	messages(fd.Messages())
	extensions(fd.Extensions())
	for i := 0; i < fd.Services().Len(); i++ {
		fn(fd.Services().Get(i))
	}
}

// appDeclarations maps the full names an app's proto file declares to
// the nodes of their names in its syntax tree; nil when pf is not one of
// the app's files (a standard import, or a proto parigot ships).
func (c *compilation) appDeclarations(pf *protoFile) map[protoreflect.FullName]ast.Node {
	if !c.fromApp(pf) {
		return nil
	}
	nodes := map[protoreflect.FullName]ast.Node{}
	add := func(scope string, n *ast.IdentNode) string {
		name := n.Val
		if scope != "" {
			name = scope + "." + name
		}
		if _, ok := nodes[protoreflect.FullName(name)]; !ok {
			nodes[protoreflect.FullName(name)] = n
		}
		return name
	}
	enum := func(scope string, e *ast.EnumNode) {
		add(scope, e.Name)
		for _, d := range e.Decls {
			if v, ok := d.(*ast.EnumValueNode); ok {
				add(scope, v.Name) // enum values are siblings of their enum
			}
		}
	}
	var message func(scope string, name *ast.IdentNode, decls []ast.MessageElement)
	extend := func(scope string, x *ast.ExtendNode) {
		for _, d := range x.Decls {
			switch d := d.(type) {
			case *ast.FieldNode:
				add(scope, d.Name)
			case *ast.GroupNode:
				message(scope, d.Name, d.Decls)
			}
		}
	}
	message = func(scope string, name *ast.IdentNode, decls []ast.MessageElement) {
		scope = add(scope, name)
		for _, d := range decls {
			switch d := d.(type) {
			case *ast.MessageNode:
				message(scope, d.Name, d.Decls)
			case *ast.GroupNode:
				message(scope, d.Name, d.Decls)
			case *ast.EnumNode:
				enum(scope, d)
			case *ast.ExtendNode:
				extend(scope, d)
			case *ast.OneofNode:
				for _, o := range d.Decls {
					if g, ok := o.(*ast.GroupNode); ok {
						message(scope, g.Name, g.Decls)
					}
				}
			}
		}
	}
	pkg := string(pf.file.Package())
	for _, d := range pf.res.AST().Decls {
		switch d := d.(type) {
		case *ast.MessageNode:
			message(pkg, d.Name, d.Decls)
		case *ast.EnumNode:
			enum(pkg, d)
		case *ast.ExtendNode:
			extend(pkg, d)
		case *ast.ServiceNode:
			add(pkg, d.Name)
		}
	}
	return nodes
}

// fromApp reports whether pf was compiled from one of the app's sources,
// rather than being a standard import or a proto parigot ships.
func (c *compilation) fromApp(pf *protoFile) bool {
	return pf.res != nil && pf.res.AST() != nil && c.sources[c.display(pf.root, pf.path)] != nil
}

// definedAt matches the position of the first declaration in the
// compiler's error for a name declared twice; its groups are the file
// (import-root-relative), the line and the column (tabs expanded to
// stops of 8, as the compiler counts).
var definedAt = regexp.MustCompile(`( already defined(?: as a package)? at )(\S+?):(\d+):(\d+)`)

// appRelative writes the position of the first declaration in the
// compiler's error for a name declared twice as diagnostics write
// positions (app-relative file, columns as in a Subject), when it is in
// one of the app's files.
func (c *compilation) appRelative(root, msg string) string {
	return definedAt.ReplaceAllStringFunc(msg, func(m string) string {
		g := definedAt.FindStringSubmatch(m)
		name := c.display(root, g[2])
		src := c.sources[name]
		line, _ := strconv.Atoi(g[3])
		col, _ := strconv.Atoi(g[4])
		off, ok := compilerOffset(src, line, col)
		if !ok {
			return m
		}
		pos := posAt(src, off)
		return fmt.Sprintf("%s%s:%d:%d", g[1], name, pos.Line, pos.Column)
	})
}

// firstDeclaredFirst makes the compiler's errors for a name declared in
// two files of a proto block say the same whichever file it linked
// first (it links files that do not import each other concurrently): the
// error is at the declaration in the file listed later (by path when
// neither is listed), and names the other. listed are the block's files,
// by import path.
func (c *compilation) firstDeclaredFirst(root string, listed []string, errs []reporter.ErrorWithPos) {
	rank := func(p string) int {
		if i := slices.Index(listed, p); i >= 0 {
			return i
		}
		return len(listed)
	}
	before := func(a, b string) bool {
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		return a < b
	}
	for i, e := range errs {
		msg := compilerMessage(e)
		g := definedAt.FindStringSubmatchIndex(msg)
		if g == nil {
			continue
		}
		at, first := e.GetPosition(), msg[g[4]:g[5]]
		if at.Filename == first || !before(at.Filename, first) {
			continue
		}
		src := c.sources[c.display(root, first)]
		line, _ := strconv.Atoi(msg[g[6]:g[7]])
		col, _ := strconv.Atoi(msg[g[8]:g[9]])
		off, ok := compilerOffset(src, line, col)
		if !ok {
			continue
		}
		end := off
		for end+1 < len(src) && isIdentByte(src[end+1]) {
			end++
		}
		span := ast.NewSourceSpan(
			ast.SourcePos{Filename: first, Line: line, Col: col, Offset: off},
			ast.SourcePos{Filename: first, Line: line, Col: col + end - off, Offset: end})
		swapped := msg[:g[4]] + fmt.Sprintf("%s:%d:%d", at.Filename, at.Line, at.Col) + msg[g[9]:]
		errs[i] = reporter.Error(span, errors.New(swapped))
	}
}

func isIdentByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// compilerOffset is the byte offset in src of the compiler's position
// line:col (from 1; a tab advances the column to the next stop of 8, and
// each character counts one), and whether src has it.
func compilerOffset(src []byte, line, col int) (int, bool) {
	off := 0
	for l := 1; l < line; l++ {
		nl := bytes.IndexByte(src[off:], '\n')
		if nl < 0 {
			return 0, false
		}
		off += nl + 1
	}
	for column := 1; column < col; off++ {
		if off >= len(src) || src[off] == '\n' {
			return 0, false
		}
		switch {
		case src[off] == '\t':
			column += 8 - (column-1)%8
		case utf8.RuneStart(src[off]):
			column++
		}
	}
	for off < len(src) && !utf8.RuneStart(src[off]) {
		off++
	}
	return off, true
}

// declRange is the range of a declaration's name in an app's file, or of
// its package statement when the name was not found in the tree.
func (c *compilation) declRange(pf *protoFile, n ast.Node) hcl.Range {
	if n == nil {
		n = packageStatement(pf)
	}
	return c.nodeRange(pf, n)
}

// declPosition is where a declaration in an app's file is, as
// diagnostics name places: app-relative file:line:col.
func (c *compilation) declPosition(pf *protoFile, n ast.Node) string {
	r := c.declRange(pf, n)
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}
