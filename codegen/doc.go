// Package codegen turns an app's .proto files into Go code, in-process: a
// fresh machine needs no protoc and no plugin binaries.
//
// Generate compiles the proto files with protocompile (well-known types
// included), builds the same CodeGeneratorRequest protoc would, and runs
// three generators over it with protogen:
//
//   - the protobuf Go generator (protoc-gen-go's own code, so <name>.pb.go is
//     byte-identical to what protoc-gen-go writes below its header, which
//     is parigot's, as in every file parigot generates: see ownHeader);
//   - vtprotobuf's generator (github.com/planetscale/vtprotobuf, as a
//     library), which writes <name>_vtproto.pb.go with fast, plain-Go
//     marshalling methods for the messages (SizeVT, MarshalToSizedBufferVT,
//     UnmarshalVT and friends; no pools). The guest library uses them when a
//     message has them, because protobuf-go's generic code is most of what a
//     small call costs inside wasm. Only proto packages whose files are all
//     proto3 and generated here get them; the rest keep protobuf-go;
//   - parigot's service generator, which writes <name>_parigot.pb.go for
//     every file that defines services (the server interface, Init/Run, and
//     a client; see package templates), and <name>_parigot_native.pb.go,
//     built only natively, with a blocking <Service>NativeClient for topology
//     tests (package runtime/apptest).
//
// Outputs land in the app directory at the path of their go_package below
// the app's module, and are written only when their content changes, so
// builds stay incremental. Generated files of the directories written into
// that no proto produces now (a renamed proto's, the stubs of one that no
// longer defines services) are removed, when their header says they are
// parigot's: see removeStale.
//
// Every user mistake (a syntax or link error, a missing file, a streaming
// method, a go_package outside the app's module) comes back as an
// hcl.Diagnostic positioned in the proto source, with the sources attached so
// that package diag can render it.
//
// GenerateResponse runs the same generators over a plugin request; it is the
// whole of a protoc-gen-parigot plugin for buf users.
//
// The package is not a general protoc replacement: it knows nothing of other
// plugins or languages, it does not manage buf modules or remote
// dependencies, and it does not build the generated code (package builder
// does).
package codegen
