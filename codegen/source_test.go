package codegen

import (
	"context"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
)

// The google/api files written from their descriptors declare what the
// descriptors do: compiled again, their messages, enums and extensions are
// the same, field for field.
func TestImportableSourcesDeclareWhatTheDescriptorsDo(t *testing.T) {
	src, err := ImportableSources()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"parigot/id/v1/id.proto", "parigot/errors/v1/errors.proto", "google/api/annotations.proto", "google/api/http.proto"} {
		if len(src[p]) == 0 {
			t.Errorf("no source for %s", p)
		}
	}
	files := map[string]string{}
	for p, b := range src {
		files[p] = string(b)
	}
	comp := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(files)})}
	for p, fd := range googleAPI {
		res, err := comp.Compile(context.Background(), p)
		if err != nil {
			t.Fatalf("%s does not compile: %v\n%s", p, err, src[p])
		}
		got, want := protodesc.ToFileDescriptorProto(res[0]), protodesc.ToFileDescriptorProto(fd)
		for _, f := range []*descriptorpb.FileDescriptorProto{got, want} {
			f.SourceCodeInfo, f.Options = nil, nil
		}
		if !proto.Equal(&descriptorpb.FileDescriptorProto{MessageType: got.MessageType, EnumType: got.EnumType, Extension: got.Extension, Dependency: got.Dependency},
			&descriptorpb.FileDescriptorProto{MessageType: want.MessageType, EnumType: want.EnumType, Extension: want.Extension, Dependency: want.Dependency}) {
			t.Errorf("%s declares other things than its descriptor:\n%s\ngot  %v\nwant %v", p, src[p], got, want)
		}
	}
}
