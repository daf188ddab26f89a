package codegen

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	"parigot.dev/parigot/internal/diag"
)

// Input says which proto files of an app to generate Go code for.
type Input struct {
	AppDir     string // absolute app directory
	DisplayDir string // how the app dir is shown in diagnostics (e.g. "examples/helloworld" or "."); range Filenames are filepath.Join(DisplayDir, app-relative file)
	Module     string // the app's Go module path: the import path of AppDir (e.g. "parigot.dev/parigot/examples/helloworld")
	Sets       []ProtoSet
	// Implemented names the proto services a guest of the app implements
	// (full names). A streaming method is an error only in one of these;
	// elsewhere it is left out of the stubs, with a note.
	Implemented map[string]bool
	// Gateways are the app's gateways: the REST routes of the proto
	// services one gateway serves must differ, and a route two of them
	// map is an error at the second rule (see httpRuleDiags).
	Gateways []Gateway
	// AppDirs are the app's directories that may hold its Go code
	// (genfile.AppDirs): the generated files the protos no longer produce
	// are looked for there, beside those the compilation writes into.
	AppDirs []string
	// Check, when set, vets the app against the services and the
	// messages its protos define (by full name; messages also those of
	// the files they import; none when the app has no protos), once they
	// compile and before any file is written or removed: with an error
	// among its diagnostics, Generate changes nothing on disk, so that a
	// mistake in the manifest never costs the app its generated code.
	Check func(services map[string]*Service, messages map[string]bool) hcl.Diagnostics
	// NoWrite compiles, generates and checks as Generate does, and writes
	// and removes nothing (parigot check): Result.Files is then empty.
	NoWrite bool
}

// ProtoSet is a group of proto files that share an import root.
type ProtoSet struct {
	Root   string      // import root, app-relative ("." when empty); imports in .proto files resolve against it
	Files  []string    // app-relative .proto paths to generate
	Ranges []hcl.Range // optional: where each file is named in parigot.hcl (used for a "file not found" diagnostic)
}

// Result describes what Generate produced.
type Result struct {
	Services map[string]*Service // by full proto name, e.g. "greeting.v1.Greeting"
	Types    []GoType            // the Go types generated from messages and enums
	Files    []string            // absolute paths of all generated files
	Written  []string            // the subset whose content changed and were written
	Removed  []string            // stale generated files removed from the directories written into: those no proto produces now (see removeStale)
	Sources  diag.Sources        // proto sources keyed by the Filenames used in diagnostic ranges
	Notes    []string            // what was left out and why (streaming methods of services no guest implements), for people
	// Descriptors holds every compiled file and every file it imports
	// (well-known types included), dependencies first, without source
	// information: what the gateway serves the app's services from.
	Descriptors *descriptorpb.FileDescriptorSet
	// untyped are the app's messages that declare no error code, for
	// TypedErrorHint.
	untyped []untypedMessage
	// methods are the methods of the services' Server interfaces, for
	// MissingMethodHint.
	methods []serverMethod
}

// Service is a proto service that Generate wrote parigot stubs for.
type Service struct {
	FullName     string // "greeting.v1.Greeting"
	GoImportPath string
	GoName       string // "Greeting"
	File         string // proto file (import-root-relative) that defines it
	Methods      []Method
}

// GoType is a Go type generated into the app from a proto message or enum.
type GoType struct {
	ProtoName     string // "orders.v1.OrderId"
	GoName        string // "OrderId"
	GoImportPath  string // the Go package it is generated into
	GoPackageName string // that package's name ("ordersv1")
	File          string // the proto file (import-root-relative) that defines it
}

// Method is one (unary) method of a Service. Input and Output are the full
// proto names of its messages.
type Method struct{ Name, Input, Output string }

// Generate compiles the proto files of in and writes their Go code (protobuf
// messages, their fast marshalling, parigot service stubs) into the app
// directory, each file only when its content changed, and removes the
// files parigot generated there before that no proto produces now: in must
// hold every proto of the app, or another proto's files may go. Every problem with the
// user's input is a diagnostic; Result.Sources holds the proto sources the
// diagnostics point into. When the diagnostics have errors, nothing is
// written.
func Generate(ctx context.Context, in Input) (*Result, hcl.Diagnostics) {
	res := &Result{Services: map[string]*Service{}, Sources: diag.Sources{}}
	if diags := in.check(); diags.HasErrors() {
		return res, diags
	}
	if in.DisplayDir == "" {
		in.DisplayDir = "."
	}

	shadows := shadowedBuiltins(in)
	c, req, diags := prepare(ctx, in, res.Sources)
	if diags.HasErrors() {
		// Errors an app's copy of a built-in proto may well explain.
		diags = append(diags, shadows...)
	}
	for _, d := range shadows {
		res.Notes = append(res.Notes, d.Subject.Filename+": "+d.Detail)
	}
	if req == nil {
		if !diags.HasErrors() {
			diags = append(diags, in.vet(res.Services, nil)...)
		}
		if !diags.HasErrors() && !in.NoWrite {
			// No proto to generate from: what the app's protos generated
			// before is stale, all of it.
			diags = append(diags, in.removeStaleFiles(nil, nil, res)...)
		}
		return res, diags
	}
	// A go_package outside the module leaves the request usable: run the
	// generators anyway, to report every problem at once.
	out := run(req, in.Implemented)
	if out.err != nil && diags.HasErrors() {
		// The generator stopped on something prepare has reported
		// already, and better (two names for one Go package).
		return res, diags
	}
	if out.err != nil {
		return res, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot generate Go code from the proto files",
			Detail:   out.err.Error(),
		})
	}
	for _, p := range out.problems {
		diags = append(diags, c.problemDiag(p))
	}
	if diags.HasErrors() {
		return res, diags
	}
	if e := out.resp.GetError(); e != "" {
		return res, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot generate Go code from the proto files",
			Detail:   generatorError(e),
		})
	}
	for name, s := range out.services {
		res.Services[name] = s
	}
	res.Notes = append(res.Notes, out.notes...)
	res.Types = out.types
	res.untyped = c.placed(out.untyped)
	res.methods = c.placedMethods(out.methods)
	res.Descriptors = descriptorSet(req)
	if diags = append(diags, in.vet(res.Services, res.Descriptors)...); diags.HasErrors() || in.NoWrite {
		return res, diags
	}
	diags = append(diags, c.write(out.resp, res)...)
	return res, diags
}

// vet runs in.Check, if any, on the services the protos define and the
// messages of set, the compiled files (nil when there are none).
func (in Input) vet(services map[string]*Service, set *descriptorpb.FileDescriptorSet) hcl.Diagnostics {
	if in.Check == nil {
		return nil
	}
	return in.Check(services, messageNames(set))
}

// messageNames are the full names of the messages of set's files, nested
// ones included and map entries (which no one names) left out.
func messageNames(set *descriptorpb.FileDescriptorSet) map[string]bool {
	names := map[string]bool{}
	var add func(prefix string, ms []*descriptorpb.DescriptorProto)
	add = func(prefix string, ms []*descriptorpb.DescriptorProto) {
		for _, m := range ms {
			if m.GetOptions().GetMapEntry() {
				continue
			}
			name := prefix + m.GetName()
			names[name] = true
			add(name+".", m.GetNestedType())
		}
	}
	for _, f := range set.GetFile() {
		prefix := ""
		if f.GetPackage() != "" {
			prefix = f.GetPackage() + "."
		}
		add(prefix, f.GetMessageType())
	}
	return names
}

// generatorError is the text of a generator's error as a diagnostic's
// detail: without the generated source that protogen appends when the Go
// it generated does not parse (hundreds of lines, of no use to the app's
// author), and with what to do then.
func generatorError(e string) string {
	i := strings.Index(e, "unparsable Go source")
	if i < 0 {
		return e
	}
	if nl := strings.IndexByte(e[i:], '\n'); nl >= 0 {
		e = e[:i+nl]
	}
	return e + "\nA name in the .proto files (a package, go_package, message or field) made code Go cannot parse; rename it. If none looks odd, report it to parigot with the .proto file."
}

// descriptorSet is the request's files, dependencies first, without their
// source information (comments and positions, which no one serving the
// app reads).
func descriptorSet(req *pluginpb.CodeGeneratorRequest) *descriptorpb.FileDescriptorSet {
	set := &descriptorpb.FileDescriptorSet{}
	for _, f := range req.GetProtoFile() {
		f = proto.CloneOf(f)
		f.SourceCodeInfo = nil
		set.File = append(set.File, f)
	}
	return set
}

// prepare compiles in's proto files and builds the request for the
// generators.
func prepare(ctx context.Context, in Input, sources diag.Sources) (*compilation, *pluginpb.CodeGeneratorRequest, hcl.Diagnostics) {
	c := &compilation{in: in, sources: sources}
	diags := c.compile(ctx)
	if diags.HasErrors() {
		return c, nil, diags
	}
	if err := ctx.Err(); err != nil {
		return c, nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Proto generation cancelled", Detail: err.Error()})
	}
	if len(c.sets) == 0 {
		return c, nil, diags // nothing to generate
	}
	req, more := c.request()
	return c, req, append(diags, more...)
}

// check reports mistakes in the Input itself (a caller's, not a user's).
func (in Input) check() hcl.Diagnostics {
	var diags hcl.Diagnostics
	bad := func(detail string) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid code generation input", Detail: detail})
	}
	if !filepath.IsAbs(in.AppDir) {
		bad(fmt.Sprintf("The app directory %q is not an absolute path.", in.AppDir))
	}
	if in.Module == "" {
		bad("The app's Go module path is empty; set module in the app block of parigot.hcl.")
	}
	return diags
}
