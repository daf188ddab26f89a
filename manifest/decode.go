package manifest

import (
	"fmt"
	"go/token"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"parigot.dev/parigot/internal/suggest"
)

var (
	fileSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "app", LabelNames: []string{"name"}},
		{Type: "proto", LabelNames: []string{"name"}},
		{Type: "id", LabelNames: []string{"name"}},
		{Type: "service", LabelNames: []string{"name"}},
		{Type: "program", LabelNames: []string{"name"}},
		{Type: "store", LabelNames: []string{"name"}},
		{Type: "topic", LabelNames: []string{"name"}},
		{Type: "http", LabelNames: []string{"name"}},
		{Type: "gateway", LabelNames: []string{"name"}},
	}}
	storeSchema     = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "replicas"}, {Name: "history"}, {Name: "value"}}}
	topicSchema     = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "replicas"}, {Name: "max_age"}, {Name: "max_bytes"}}}
	subscribeSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "topic", Required: true}, {Name: "method", Required: true}, {Name: "max_attempts"}, {Name: "start"}}}
	gatewaySchema   = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "listen"}, {Name: "services"}, {Name: "cors_origins"}, {Name: "headers"}}}
	appSchema       = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "module"}}}
	protoSchema     = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "files"}, {Name: "root"}, {Name: "buf"}}}
	idSchema        = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "letter"}, {Name: "package"}}}
	// Programs are decoded with the service schema too, so that a
	// service-only attribute gets a diagnostic that says why.
	guestSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "source"}, {Name: "implements"}, {Name: "requires"},
		{Name: "method_timeout"}, {Name: "replicas"},
		{Name: "on_overrun"}, {Name: "restart"}, {Name: "memory_limit"},
		{Name: "inbox_calls"}, {Name: "inbox_bytes"}, {Name: "uses"},
		{Name: "env"}, {Name: "pass_env"}, {Name: "pass_env_optional"},
	}, Blocks: []hcl.BlockHeaderSchema{{Type: "subscribe"}}}
)

// serviceOnly lists the attributes a program does not take, and why.
var serviceOnly = []struct{ name, why string }{
	{"implements", "A program answers no calls, so it implements no proto service."},
	{"method_timeout", "A program answers no calls, so it has no methods to time out."},
	{"replicas", "A program runs once; only services run as several copies."},
	{"on_overrun", "A program answers no calls, so no method of it can overrun a budget."},
	{"restart", "A program runs to completion once; only services are restarted."},
	{"inbox_calls", "A program answers no calls, so no calls wait in its inbox."},
	{"inbox_bytes", "A program answers no calls, so no requests wait in its inbox."},
}

// whyNoSubscribe is why a program takes no subscribe block.
const whyNoSubscribe = "A program answers no calls, so no message can be delivered to a method of it."

var (
	protoNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$`)
	protoIdent  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	dirElemRE   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
	goPkgRE     = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
)

// decoder holds the state of one Parse.
type decoder struct {
	app      *App
	diags    hcl.Diagnostics
	appBlock *hcl.Block
	guests   map[string]*Guest    // services and programs, by name (first declared)
	protos   map[string]*Proto    // by name
	ids      map[string]*IdType   // by name
	letters  map[string]*IdType   // by letter
	implBy   map[string]*Guest    // proto service -> service implementing it
	implAt   map[string]hcl.Range // proto service -> its first implements entry
	stores   map[string]*Store    // by name
	topics   map[string]*Topic    // by name
	// undecoded holds what the blocks that could not be decoded as
	// declarations (a misspelt block type, a label missing or too many)
	// meant to declare, as references name it ("service.stats"): their
	// own error says what is wrong, and a reference to them is not
	// reported again.
	undecoded map[string]bool
}

func newDecoder(a *App) *decoder {
	return &decoder{
		app:     a,
		guests:  map[string]*Guest{},
		protos:  map[string]*Proto{},
		ids:     map[string]*IdType{},
		letters: map[string]*IdType{},
		implBy:  map[string]*Guest{},
		implAt:  map[string]hcl.Range{},
		stores:  map[string]*Store{},
		topics:  map[string]*Topic{},
	}
}

func (d *decoder) errf(rng hcl.Range, summary, format string, args ...any) {
	d.diags = append(d.diags, errAt(rng, summary, fmt.Sprintf(format, args...)))
}

func (d *decoder) decodeFile(body hcl.Body) {
	content, diags := body.Content(fileSchema)
	d.diags = append(d.diags, diags...)
	d.undecoded = undecoded(body, content)
	for _, b := range content.Blocks {
		switch b.Type {
		case "app":
			d.decodeApp(b)
		case "proto":
			d.decodeProto(b)
		case "id":
			d.decodeId(b)
		case "service":
			d.decodeGuest(b, KindService)
		case "program":
			d.decodeGuest(b, KindProgram)
		case "store":
			d.decodeStore(b)
		case "topic":
			d.decodeTopic(b)
		case "http":
			d.decodeHTTP(b)
		case "gateway":
			d.decodeGateway(b)
		}
	}
	if d.appBlock == nil {
		d.errf(fileStart(d.app.File), "Missing app block",
			"Every %s starts with one app block naming the app and its Go module, for example:\n\n"+
				"app \"shop\" {\n  module = \"example.com/shop\"\n}", FileName)
	}
	d.checkRequires()
	d.checkCycles()
	d.checkGateways()
	d.checkUses()
}

// undecoded is what the blocks of body that content does not hold (those
// HCL refused) meant to declare, each as a reference names it: its block
// type, or the type it is a typo of (the one HCL's error suggests), then
// its first label. Services and programs are both "service.", as
// references to either are written.
func undecoded(body hcl.Body, content *hcl.BodyContent) map[string]bool {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	decoded := map[hcl.Range]bool{}
	for _, b := range content.Blocks {
		decoded[b.DefRange] = true
	}
	var types []string
	for _, t := range fileSchema.Blocks {
		types = append(types, t.Type)
	}
	names := map[string]bool{}
	for _, b := range sb.Blocks {
		if decoded[b.DefRange()] || len(b.Labels) == 0 {
			continue
		}
		kind := b.Type
		if !slices.Contains(types, kind) {
			kind = suggest.Closest(kind, types)
		}
		switch kind {
		case "":
			continue
		case "program":
			kind = "service"
		}
		names[kind+"."+b.Labels[0]] = true
	}
	return names
}

func (d *decoder) decodeApp(b *hcl.Block) {
	if d.appBlock != nil {
		d.errf(b.DefRange, "Duplicate app block",
			"An app block is already declared at line %d. A %s describes one app; keep one app block, and give another app its own directory.",
			d.appBlock.DefRange.Start.Line, FileName)
		return
	}
	d.appBlock = b
	a := d.app
	a.Name, a.NameRange = b.Labels[0], b.LabelRanges[0]
	d.checkName(a.Name, a.NameRange, "app")
	content, diags := b.Body.Content(appSchema)
	d.diags = append(d.diags, diags...)
	attr := content.Attributes["module"]
	if attr == nil {
		d.errf(b.DefRange, "Missing module",
			`The app block needs module, the Go import path of the app's directory, for example module = "example.com/%s".`, a.Name)
		return
	}
	a.ModuleRange = attr.Expr.Range()
	mod, ok := d.str(attr, `module = "example.com/shop"`)
	if !ok {
		return
	}
	if err := CheckModulePath(mod); err != nil {
		d.errf(a.ModuleRange, "Invalid module",
			`%v. Set module to the import path of the app's directory, the path go mod init would take, for example module = "example.com/%s".`, err, a.Name)
		return
	}
	a.Module = mod
}

func (d *decoder) decodeProto(b *hcl.Block) {
	p := &Proto{Name: b.Labels[0], Root: ".", DeclRange: b.DefRange, RootRange: b.DefRange}
	d.checkName(p.Name, b.LabelRanges[0], "proto")
	dup := false
	if first, ok := d.protos[p.Name]; ok {
		dup = true
		d.errf(b.LabelRanges[0], fmt.Sprintf("Duplicate proto name %q", p.Name),
			"A proto block named %q is already declared at line %d. Rename this one, or list its files in the first block.",
			p.Name, first.DeclRange.Start.Line)
	}
	content, diags := b.Body.Content(protoSchema)
	d.diags = append(d.diags, diags...)

	if attr := content.Attributes["buf"]; attr != nil {
		d.app.BuildInputRanges = append(d.app.BuildInputRanges, attr.Expr.Range())
		for _, other := range []string{"root", "files"} {
			if o := content.Attributes[other]; o != nil {
				d.errf(o.NameRange, fmt.Sprintf("%s beside buf", other),
					"A proto block with buf takes its roots and files from the buf.yaml's modules; remove %s, or remove buf and list the files here.", other)
			}
		}
		if !dup {
			d.protos[p.Name] = p
			d.app.Protos = append(d.app.Protos, d.decodeBuf(p, attr)...)
		}
		return
	}

	rootOK := true
	if attr := content.Attributes["root"]; attr != nil {
		p.RootRange = attr.Expr.Range()
		d.app.BuildInputRanges = append(d.app.BuildInputRanges, p.RootRange)
		if root, ok := d.str(attr, `root = "proto"`); ok {
			p.Root = path.Clean(filepath.ToSlash(root))
			rootOK = d.checkProtoRoot(root, root, "", p.RootRange)
		} else {
			rootOK = false
		}
	}

	attr := content.Attributes["files"]
	if attr == nil {
		d.errf(b.DefRange, "Missing files",
			`A proto block needs files, the app-relative paths of its .proto files, for example files = ["proto/%s/v1/%s.proto"].`, p.Name, p.Name)
	} else {
		n := len(d.diags)
		files, ranges, ok := d.strList(attr, `files = ["proto/orders/v1/orders.proto"]`)
		if ok && len(files) == 0 && !d.errorsSince(n) {
			d.errf(attr.Expr.Range(), "Empty files list",
				`List at least one .proto file, relative to the app directory, for example files = ["proto/%s/v1/%s.proto"].`, p.Name, p.Name)
		}
		p.Files, p.FileRanges = files, ranges
		d.app.BuildInputRanges = append(d.app.BuildInputRanges, ranges...)
		for i, f := range files {
			d.checkProtoFile(f, ranges[i], p, rootOK)
		}
	}
	if !dup {
		d.protos[p.Name] = p
		d.app.Protos = append(d.app.Protos, p)
	}
}

func (d *decoder) decodeId(b *hcl.Block) {
	t := &IdType{Name: b.Labels[0], DeclRange: b.DefRange, LetterRange: b.DefRange}
	d.checkIdName(t.Name, b.LabelRanges[0])
	dup := false
	if first, ok := d.ids[t.Name]; ok {
		dup = true
		d.errf(b.LabelRanges[0], fmt.Sprintf("Duplicate Id name %q", t.Name),
			"An id block named %q is already declared at line %d. Remove one of them.", t.Name, first.DeclRange.Start.Line)
	}
	content, diags := b.Body.Content(idSchema)
	d.diags = append(d.diags, diags...)
	attr := content.Attributes["letter"]
	if attr == nil {
		d.errf(b.DefRange, "Missing letter",
			`An id block needs letter, the lowercase letter that starts the string form of its Ids, for example letter = %q.`, suggestLetter(t.Name))
	} else {
		t.LetterRange = attr.Expr.Range()
		if l, ok := d.str(attr, `letter = "o"`); ok {
			switch {
			case len(l) != 1 || l[0] < 'a' || l[0] > 'z':
				d.errf(t.LetterRange, "Invalid Id letter",
					`%q is not a single lowercase ASCII letter (a-z). The letter starts the string form of every %s Id; write for example letter = %q.`, l, t.Name, suggestLetter(t.Name))
			case d.letters[l] != nil && !dup:
				first := d.letters[l]
				d.errf(t.LetterRange, "Duplicate Id letter",
					"Id type %s (line %d) already uses letter %q. Each Id type needs its own letter, so that an Id's string form tells its type; pick another one.",
					first.Name, first.DeclRange.Start.Line, l)
			default:
				t.Letter = l
				if !dup {
					d.letters[l] = t
				}
			}
		}
	}
	if attr := content.Attributes["package"]; attr != nil {
		t.PackageRange = attr.Expr.Range()
		if p, ok := d.str(attr, `package = "internal/ids"`); ok {
			d.checkIdPackage(t, p)
		}
	}
	if !dup {
		d.ids[t.Name] = t
		d.app.Ids = append(d.app.Ids, t)
	}
}

// checkIdPackage sets t.Package to p if p is an app-relative directory whose
// last element is a Go package name.
func (d *decoder) checkIdPackage(t *IdType, p string) {
	clean := path.Clean(p)
	ok := p != "" && clean == p && p != "." && !path.IsAbs(p) && !strings.Contains(p, "\\")
	for _, el := range strings.Split(clean, "/") {
		ok = ok && el != ".." && dirElemRE.MatchString(el)
	}
	base := path.Base(clean)
	if !ok {
		d.errf(t.PackageRange, "Invalid Id package",
			`%q is not an app-relative directory. package names the directory, relative to the app, that the %sId type is generated into, for example package = "internal/ids"; leave it out for %s.`,
			p, t.Name, DefaultIdPackage)
		return
	}
	if !goPkgRE.MatchString(base) || token.IsKeyword(base) {
		d.errf(t.PackageRange, "Invalid Id package",
			`The last element of package, %q, is the Go package name of the generated code, so it must be one: lowercase letters, digits and "_", not a Go keyword. For example package = "internal/ids".`, base)
		return
	}
	t.Package = p
}

func (d *decoder) decodeGuest(b *hcl.Block, kind Kind) {
	g := &Guest{
		Name:          b.Labels[0],
		Kind:          kind,
		MethodTimeout: DefaultMethodTimeout,
		Replicas:      1,
		MemoryLimit:   DefaultMemoryLimit,
		DeclRange:     b.DefRange,
		NameRange:     b.LabelRanges[0],
		SourceRange:   b.DefRange,
	}
	d.checkName(g.Name, g.NameRange, kind.String())
	dup := false
	if first, ok := d.guests[g.Name]; ok {
		dup = true
		d.errf(g.NameRange, fmt.Sprintf("Duplicate name %q", g.Name),
			"A %s named %q is already declared at line %d. Services and programs share one set of names, because each is built to build/%s.wasm; rename one of them.",
			first.Kind, g.Name, first.DeclRange.Start.Line, g.Name)
	}
	content, diags := b.Body.Content(guestSchema)
	d.diags = append(d.diags, diags...)
	attrs := content.Attributes

	if attr := attrs["source"]; attr == nil {
		d.errf(b.DefRange, "Missing source",
			`A %s needs source, the app-relative directory of its Go main package, for example source = "./%s".`, kind, g.Name)
	} else {
		g.SourceRange = attr.Expr.Range()
		d.app.BuildInputRanges = append(d.app.BuildInputRanges, g.SourceRange)
		if src, ok := d.str(attr, fmt.Sprintf(`source = "./%s"`, g.Name)); ok {
			g.Source = src
			g.Dir = filepath.Join(d.app.Dir, filepath.FromSlash(src))
			d.checkSource(g)
		}
	}

	if kind == KindProgram {
		for _, sa := range serviceOnly {
			if attr := attrs[sa.name]; attr != nil {
				d.errf(attr.NameRange, fmt.Sprintf("Programs take no %s", sa.name),
					"%s Remove this line, or declare %q as a service.", sa.why, g.Name)
			}
		}
		for _, sb := range content.Blocks {
			d.errf(sb.DefRange, "Programs take no subscribe block",
				"%s Remove the block, or declare %q as a service.", whyNoSubscribe, g.Name)
		}
	} else {
		d.decodeServiceAttrs(b, attrs, g)
		for _, sb := range content.Blocks {
			d.decodeSubscribe(sb, g)
		}
	}
	if attr := attrs["uses"]; attr != nil {
		d.decodeUses(attr, g)
	}
	if attr := attrs["env"]; attr != nil {
		d.decodeEnv(attr, g)
	}
	if attr := attrs["pass_env"]; attr != nil {
		d.decodePassEnv(attr, g, false)
	}
	if attr := attrs["pass_env_optional"]; attr != nil {
		d.decodePassEnv(attr, g, true)
	}
	if attr := attrs["memory_limit"]; attr != nil {
		if n, ok := d.decodeSize(attr, memoryLimitBounds); ok {
			g.MemoryLimit = n
		}
	}
	if attr := attrs["requires"]; attr != nil {
		d.decodeRequires(attr, g)
	}

	if dup {
		return
	}
	d.guests[g.Name] = g
	if kind == KindService {
		d.app.Services = append(d.app.Services, g)
	} else {
		d.app.Programs = append(d.app.Programs, g)
	}
}

// decodeServiceAttrs decodes the attributes only services take.
func (d *decoder) decodeServiceAttrs(b *hcl.Block, attrs hcl.Attributes, g *Guest) {
	d.decodeImplements(b, attrs["implements"], g)
	if attr := attrs["method_timeout"]; attr != nil {
		if t, ok := d.decodeDuration(attr, methodTimeoutBounds); ok {
			g.MethodTimeout = t
		}
	}
	if attr := attrs["replicas"]; attr != nil {
		if n, ok := d.decodeWhole(attr, replicasBounds); ok {
			g.Replicas = int(n)
		}
	}
	if attr := attrs["inbox_calls"]; attr != nil {
		if n, ok := d.decodeWhole(attr, inboxCallsBounds); ok {
			g.InboxCalls = int(n)
		}
	}
	if attr := attrs["inbox_bytes"]; attr != nil {
		if n, ok := d.decodeSize(attr, inboxBytesBounds); ok {
			g.InboxBytes = n
		}
	}
	g.OnOverrun = d.decodeChoice(attrs["on_overrun"], OverrunStop, OverrunStop, OverrunReport)
	g.Restart = d.decodeChoice(attrs["restart"], RestartNever, RestartNever, RestartOnFailure)
}

// decodeChoice reads a string attribute that must be one of choices; def
// when it is absent.
func (d *decoder) decodeChoice(attr *hcl.Attribute, def string, choices ...string) string {
	if attr == nil {
		return def
	}
	example := fmt.Sprintf("%s = %q", attr.Name, choices[0])
	v, ok := d.str(attr, example)
	if !ok {
		return def
	}
	for _, c := range choices {
		if v == c {
			return v
		}
	}
	quoted := make([]string, len(choices))
	for i, c := range choices {
		quoted[i] = strconv.Quote(c)
	}
	d.errf(attr.Expr.Range(), fmt.Sprintf("Invalid %s", attr.Name),
		"%q is not one of %s. For example %s (the default).", v, strings.Join(quoted, ", "), fmt.Sprintf("%s = %q", attr.Name, def))
	return def
}

func (d *decoder) decodeImplements(b *hcl.Block, attr *hcl.Attribute, g *Guest) {
	if attr == nil {
		d.errf(b.DefRange, "Missing implements",
			`A service needs implements, the full names of the proto services it implements, for example implements = ["%s.v1.%s"].`, g.Name, exportedName(g.Name))
		return
	}
	n := len(d.diags)
	names, ranges, ok := d.strList(attr, `implements = ["orders.v1.Orders"]`)
	if !ok {
		return
	}
	if len(names) == 0 && !d.errorsSince(n) {
		d.errf(attr.Expr.Range(), "Empty implements list",
			`A service implements at least one proto service; list their full names, for example implements = ["%s.v1.%s"]. A guest that answers no calls is a program: declare it with a program block.`, g.Name, exportedName(g.Name))
		return
	}
	seen := map[string]hcl.Range{}
	for i, n := range names {
		rng := ranges[i]
		if !protoNameRE.MatchString(n) {
			detail := fmt.Sprintf(`implements takes full proto service names, the proto package and the service joined by dots, for example "orders.v1.Orders"; %q is not one.`, n)
			if protoIdent.MatchString(n) {
				detail += fmt.Sprintf(` Add the package of the proto file: "<package>.%s".`, n)
			}
			d.errf(rng, "Invalid proto service name", "%s", detail)
			continue
		}
		if first, ok := seen[n]; ok {
			d.errf(rng, "Duplicate implements entry", "%s is already listed at line %d; remove this entry.", n, first.Start.Line)
			continue
		}
		seen[n] = rng
		if other := d.implBy[n]; other != nil && other.Name != g.Name {
			d.errf(rng, "Proto service implemented twice",
				"%s is already implemented by service %q (line %d). Each proto service has one implementing service, so calls to it have one destination; to run more copies of %q set replicas instead.",
				n, other.Name, d.implAt[n].Start.Line, other.Name)
			continue
		}
		d.implBy[n], d.implAt[n] = g, rng
		g.Implements = append(g.Implements, n)
		g.ImplementsRanges = append(g.ImplementsRanges, rng)
	}
}

// decodeRequires records the syntactically valid entries of requires; which
// of them name declared services is checked once every block is decoded.
func (d *decoder) decodeRequires(attr *hcl.Attribute, g *Guest) {
	g.Requires, g.RequiresRanges = d.serviceRefs(attr, "required", "programs make calls but answer none, so nothing can depend on them. requires lists services only (service.<name>).", "stock")
}

// serviceRefs reads attr, a list of references to services
// (service.<name>), as requires and a gateway's services take them. what
// says what a program referred to cannot be ("required"), and why.
func (d *decoder) serviceRefs(attr *hcl.Attribute, what, why, example string) (names []string, ranges []hcl.Range) {
	name := attr.Name
	exprs, ok := d.list(attr, fmt.Sprintf("%s = [service.%s]", name, example))
	if !ok {
		return nil, nil
	}
	seen := map[string]hcl.Range{}
	for _, e := range exprs {
		rng := e.Range()
		trav, tdiags := hcl.AbsTraversalForExpr(e)
		if tdiags.HasErrors() {
			if s, ok := stringLiteral(e); ok && nameRE.MatchString(s) {
				d.errf(rng, "Quoted service name in "+name,
					"%s takes references to services, not strings: write service.%s (without quotes) instead of %q.", name, s, s)
			} else {
				d.errf(rng, "Invalid "+name+" entry",
					"Each %s entry is a reference to a service, written service.<name> without quotes, for example %s = [service.%s].", name, name, example)
			}
			continue
		}
		ref := ""
		if len(trav) == 2 {
			if a, ok := trav[1].(hcl.TraverseAttr); ok {
				ref = a.Name
			}
		}
		switch root := trav.RootName(); {
		case root == "program" && ref != "":
			d.errf(rng, "A program cannot be "+what,
				"program.%s is a program: %s", ref, why)
			continue
		case root != "service" || ref == "":
			d.errf(rng, "Invalid "+name+" entry",
				"Each %s entry is a reference to a service, written service.<name>, for example %s = [service.%s].", name, name, example)
			continue
		}
		if first, ok := seen[ref]; ok {
			d.errf(rng, "Duplicate "+name+" entry", "service.%s is already listed at line %d; remove this entry.", ref, first.Start.Line)
			continue
		}
		seen[ref] = rng
		names = append(names, ref)
		ranges = append(ranges, rng)
	}
	return names, ranges
}

// str evaluates attr as a string. ok is false if it is not one, which has
// been reported.
func (d *decoder) str(attr *hcl.Attribute, example string) (s string, ok bool) {
	return d.strExpr(attr.Name, attr.Expr, example)
}

func (d *decoder) strExpr(what string, e hcl.Expression, example string) (string, bool) {
	v, diags := e.Value(nil)
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() || !v.IsKnown() {
		return "", false
	}
	if v.IsNull() || v.Type() != cty.String {
		d.errf(e.Range(), fmt.Sprintf("Incorrect type for %s", what),
			"%s must be a string, not %s; write it in double quotes, for example %s.", what, typeName(v), example)
		return "", false
	}
	return v.AsString(), true
}

// list returns the element expressions of a list attribute.
func (d *decoder) list(attr *hcl.Attribute, example string) ([]hcl.Expression, bool) {
	exprs, diags := hcl.ExprList(attr.Expr)
	if !diags.HasErrors() {
		return exprs, true
	}
	// hcl.ExprList rejects [] as well; accept it as an empty list.
	if v, vd := attr.Expr.Value(nil); !vd.HasErrors() && v.IsKnown() && !v.IsNull() &&
		(v.Type().IsTupleType() || v.Type().IsListType()) && v.LengthInt() == 0 {
		return nil, true
	}
	if _, isFor := attr.Expr.(*hclsyntax.ForExpr); isFor {
		d.errf(attr.Expr.Range(), fmt.Sprintf("%s must list its items", attr.Name),
			"parigot.hcl does not evaluate for expressions: write each item of %s out, in square brackets, for example %s.", attr.Name, example)
		return nil, false
	}
	d.errf(attr.Expr.Range(), fmt.Sprintf("%s must be a list", attr.Name),
		"Write %s as a list in square brackets, for example %s.", attr.Name, example)
	return nil, false
}

// strList evaluates a list of strings, returning each string with its range.
// Entries that are not strings are reported and left out.
func (d *decoder) strList(attr *hcl.Attribute, example string) ([]string, []hcl.Range, bool) {
	exprs, ok := d.list(attr, example)
	if !ok {
		return nil, nil, false
	}
	var (
		out    []string
		ranges []hcl.Range
	)
	for _, e := range exprs {
		if s, ok := d.strExpr(attr.Name+" entry", e, example); ok {
			out = append(out, s)
			ranges = append(ranges, e.Range())
		}
	}
	return out, ranges, true
}

// errorsSince reports whether an error was reported after the first n
// diagnostics, so that an attribute whose every entry was bad is not also
// called empty. It looks only at the new ones: scanning them all for each
// attribute made junk manifests quadratic.
func (d *decoder) errorsSince(n int) bool {
	return d.diags[n:].HasErrors()
}

func stringLiteral(e hcl.Expression) (string, bool) {
	v, diags := e.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

func typeName(v cty.Value) string {
	if v.IsNull() {
		return "null"
	}
	return v.Type().FriendlyName()
}

func suggestLetter(idName string) string {
	if idName != "" && idName[0] >= 'A' && idName[0] <= 'Z' {
		return string(rune(idName[0] - 'A' + 'a'))
	}
	return "o"
}

// exportedName turns a guest name into a plausible proto service name for
// examples: "order-stock" -> "OrderStock".
func exportedName(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		if r == '-' || r == '_' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

// BlockTypes lists the block types parigot.hcl takes, in the order the
// reference documents them.
func BlockTypes() []string {
	types := make([]string, len(fileSchema.Blocks))
	for i, b := range fileSchema.Blocks {
		types[i] = b.Type
	}
	return types
}
