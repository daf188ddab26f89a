package codegen

import (
	"path"
	"regexp"

	"github.com/planetscale/vtprotobuf/generator"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"

	// The vtprotobuf features parigot generates; each registers itself with
	// the generator.
	_ "github.com/planetscale/vtprotobuf/features/marshal"
	_ "github.com/planetscale/vtprotobuf/features/size"
	_ "github.com/planetscale/vtprotobuf/features/unmarshal"
)

// vtSuffix ends the name of the file holding the fast marshalling code of a
// proto file's messages.
const vtSuffix = "_vtproto.pb.go"

// vtprotoVersion is the version of github.com/planetscale/vtprotobuf in
// go.mod (a test keeps them equal). It is named in the generated files
// instead of the build's own version, so that their content does not depend
// on how the parigot binary was built.
const vtprotoVersion = "v0.6.1-0.20240319094008-0393e58bdf10"

// vtFeatures are the vtprotobuf features generated: what the guest library
// uses (runtime/guest: MarshalToSizedBufferVT, SizeVT, UnmarshalVT, and
// UnmarshalVTUnsafe, which leaves strings and bytes in the buffer it
// decodes: see boundAliases), no pools, clones or equality.
var vtFeatures = []string{"marshal", "size", "unmarshal", "unmarshal_unsafe"}

// generateVT runs vtprotobuf's generator over the files being generated,
// writing <name>_vtproto.pb.go next to each <name>.pb.go whose messages it
// can serve exactly. It only covers proto3 files, and only whole proto
// packages: vtprotobuf calls the methods of messages of a package it
// generates directly (other messages through an interface check with a
// proto.Marshal fallback), so a package is left out entirely when any of its
// files is proto2 or editions (whose required fields, extensions and
// features vtprotobuf does not handle as protobuf-go does) or is not
// generated here (vt, from vtPackages). Messages left out keep working
// through protobuf-go.
func generateVT(gen *protogen.Plugin, ok map[protoreflect.FullName]bool) error {
	var skipped []*protogen.File
	for _, f := range gen.Files {
		if f.Generate && !ok[f.Desc.Package()] {
			f.Generate = false
			skipped = append(skipped, f)
		}
	}
	defer func() {
		for _, f := range skipped {
			f.Generate = true
		}
	}()

	cfg := &generator.Config{
		Poolable:        generator.NewObjectSet(),
		PoolableExclude: generator.NewObjectSet(),
	}
	// No pools, even for a message that asks for one with the
	// vtproto.mempool option: the pool feature is not generated.
	if err := cfg.PoolableExclude.Set("**"); err != nil {
		return err
	}
	supported := gen.SupportedFeatures
	vt, err := generator.NewGenerator(gen, vtFeatures, cfg)
	gen.SupportedFeatures = supported // NewGenerator sets its own
	if err != nil {
		return err
	}
	vt.Generate()
	return nil
}

// vtPackages are the proto packages whose messages generateVT gives the
// fast methods: those whose files are all proto3 and all generated here.
func vtPackages(gen *protogen.Plugin) map[protoreflect.FullName]bool {
	ok := map[protoreflect.FullName]bool{}
	for _, f := range gen.Files {
		pkg := f.Desc.Package()
		if _, seen := ok[pkg]; !seen {
			ok[pkg] = true
		}
		if !f.Generate || f.Desc.Syntax() != protoreflect.Proto3 {
			ok[pkg] = false
		}
	}
	return ok
}

// hasVT reports whether m gets the fast methods (see vtPackages).
func hasVT(vt map[protoreflect.FullName]bool, m *protogen.Message) bool {
	return vt[m.Desc.ParentFile().Package()]
}

// knownTwins are the well-known types that have the fast methods on a
// twin type: vtprotobuf's types/known packages declare each as a type of
// its own with the same fields (type Empty emptypb.Empty) and give it the
// methods, which a stub reaches by a conversion. They are the types the
// guest library finds the methods of at run time (runtime/guest,
// knownFast), for messages that the stubs do not convert. Struct, Value,
// ListValue and Any are left out there, and so here: a stub naming their
// twins would link those packages into the guest.
var knownTwins = func() map[protoreflect.FullName]protogen.GoIdent {
	const known = "github.com/planetscale/vtprotobuf/types/known/"
	twins := map[protoreflect.FullName]protogen.GoIdent{
		"google.protobuf.Empty":     {GoName: "Empty", GoImportPath: known + "emptypb"},
		"google.protobuf.Timestamp": {GoName: "Timestamp", GoImportPath: known + "timestamppb"},
		"google.protobuf.Duration":  {GoName: "Duration", GoImportPath: known + "durationpb"},
		"google.protobuf.FieldMask": {GoName: "FieldMask", GoImportPath: known + "fieldmaskpb"},
	}
	for _, w := range []string{"Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes"} {
		twins[protoreflect.FullName("google.protobuf."+w+"Value")] = protogen.GoIdent{GoName: w + "Value", GoImportPath: known + "wrapperspb"}
	}
	return twins
}()

// fastTwin reports whether m has the fast methods: on its own type (twin
// is then the zero GoIdent) or on a twin (see knownTwins). A message
// without them (a proto2 or editions message, a message generated
// elsewhere) is encoded by protobuf-go.
func fastTwin(vt map[protoreflect.FullName]bool, m *protogen.Message) (twin protogen.GoIdent, ok bool) {
	if hasVT(vt, m) {
		return protogen.GoIdent{}, true
	}
	twin, ok = knownTwins[m.Desc.FullName()]
	// The twin has the fields of protobuf-go's type, the one every
	// well-known type's go_package names (a generator told otherwise
	// leaves the message to protobuf-go).
	return twin, ok && m.GoIdent.GoImportPath == "google.golang.org/protobuf/types/known/"+protogen.GoImportPath(path.Base(string(twin.GoImportPath)))
}

// fastConversion is a function literal, written for the file g, that
// gives a *m as the type with the fast methods: converted to twin, or as
// it is when twin is the zero GoIdent (name is then ""). It imports the
// twin's package into g.
func fastConversion(g *protogen.GeneratedFile, m *protogen.Message, twin protogen.GoIdent) (conv, name string) {
	self := g.QualifiedGoIdent(m.GoIdent)
	if twin.GoName == "" {
		return "func(m *" + self + ") *" + self + " { return m }", ""
	}
	name = g.QualifiedGoIdent(twin)
	return "func(m *" + self + ") *" + name + " { return (*" + name + ")(m) }", name
}

// boundAliases bounds the capacity of each slice that vtprotobuf's
// UnmarshalVTUnsafe leaves in the buffer it decodes (a bytes field, one
// of a repeated or oneof bytes field, a bytes map value) to the field's
// own bytes: dAtA[iNdEx:postIndex:postIndex]. The guest library decodes a
// small message into a buffer allocated with it (runtime/guest, held), so
// a method appending to one of its request's bytes fields must get a new
// array rather than write over the fields that follow in the buffer. In
// UnmarshalVT the same expressions are only read from, which the bound
// does not change.
func boundAliases(src string) string {
	return aliasedSlice.ReplaceAllString(src, "dAtA[iNdEx:$1:$1]")
}

// aliasedSlice is a field's bytes in the generated decoding code.
var aliasedSlice = regexp.MustCompile(`dAtA\[iNdEx:(postIndex|postbytesIndex)\]`)

// vtHeader gives a file vtprotobuf wrote parigot's header (see
// ownHeader), naming vtprotobuf's version in go.mod rather than the one
// its generator reads from the binary it was built into.
func vtHeader(src string) string {
	return ownHeader(src, "// Code generated by protoc-gen-go-vtproto. DO NOT EDIT.",
		"// Fast marshalling by vtprotobuf "+vtprotoVersion+" (github.com/planetscale/vtprotobuf), run in-process.")
}
