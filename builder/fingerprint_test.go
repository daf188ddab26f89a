package builder

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"parigot.dev/parigot/manifest"
)

// bookstoreSet is the descriptors of a bookstore.v1.Bookstore service
// whose GetBook takes a request with fields and returns a common.Book
// from an imported file; beside it, in the same file, an Admin service
// and a message neither service uses.
func bookstoreSet(fields ...string) *descriptorpb.FileDescriptorSet {
	req := &descriptorpb.DescriptorProto{Name: proto.String("GetBookRequest")}
	for i, f := range fields {
		req.Field = append(req.Field, &descriptorpb.FieldDescriptorProto{Name: proto.String(f), Number: proto.Int32(int32(i + 1)),
			Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), JsonName: proto.String(f)})
	}
	method := func(name, in, out string) *descriptorpb.MethodDescriptorProto {
		return &descriptorpb.MethodDescriptorProto{Name: proto.String(name), InputType: proto.String(in), OutputType: proto.String(out)}
	}
	return &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{
		{Name: proto.String("common.proto"), Package: proto.String("common"), Syntax: proto.String("proto3"),
			MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Book")}}},
		{Name: proto.String("bookstore.proto"), Package: proto.String("bookstore.v1"), Syntax: proto.String("proto3"), Dependency: []string{"common.proto"},
			MessageType: []*descriptorpb.DescriptorProto{req, {Name: proto.String("Unused")}, {Name: proto.String("Empty")}},
			Service: []*descriptorpb.ServiceDescriptorProto{
				{Name: proto.String("Bookstore"), Method: []*descriptorpb.MethodDescriptorProto{method("GetBook", ".bookstore.v1.GetBookRequest", ".common.Book")}},
				{Name: proto.String("Admin"), Method: []*descriptorpb.MethodDescriptorProto{method("Reset", ".bookstore.v1.Empty", ".bookstore.v1.Empty")}},
			}},
	}}
}

func bookstoreGuest(timeout time.Duration) []*manifest.Guest {
	return []*manifest.Guest{{Name: "books", Kind: manifest.KindService, Implements: []string{"bookstore.v1.Bookstore"}, MethodTimeout: timeout, Replicas: 1}}
}

func TestFingerprints(t *testing.T) {
	base := fingerprints(bookstoreGuest(time.Second), bookstoreSet("id"))["bookstore.v1.Bookstore"]
	if base.Protos == "" || base.Declaration == "" {
		t.Fatalf("fingerprint %+v: want both parts", base)
	}
	commented := bookstoreSet("id")
	commented.File[1].SourceCodeInfo = &descriptorpb.SourceCodeInfo{Location: []*descriptorpb.SourceCodeInfo_Location{{Path: []int32{4, 0}, Span: []int32{3, 0, 20}, LeadingComments: proto.String("a comment")}}}
	usedChanged := bookstoreSet("id")
	usedChanged.File[0].MessageType[0].Field = []*descriptorpb.FieldDescriptorProto{{Name: proto.String("title"), Number: proto.Int32(1),
		Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), JsonName: proto.String("title")}}
	unusedChanged := bookstoreSet("id")
	unusedChanged.File[0].MessageType = append(unusedChanged.File[0].MessageType, &descriptorpb.DescriptorProto{Name: proto.String("Money")})
	unusedChanged.File[1].MessageType[1].Field = usedChanged.File[0].MessageType[0].Field
	otherServiceChanged := bookstoreSet("id")
	otherServiceChanged.File[1].Service[1].Method[0].Name = proto.String("Wipe")
	optionChanged := bookstoreSet("id")
	optionChanged.File[1].Options = &descriptorpb.FileOptions{GoPackage: proto.String("example.com/other")}
	for _, tc := range []struct {
		name                 string
		guests               []*manifest.Guest
		set                  *descriptorpb.FileDescriptorSet
		sameProtos, sameDecl bool
	}{
		{"the same sources give the same fingerprint", bookstoreGuest(time.Second), bookstoreSet("id"), true, true},
		{"comments alone change nothing", bookstoreGuest(time.Second), commented, true, true},
		{"a field added to a request changes the protos' part", bookstoreGuest(time.Second), bookstoreSet("id", "isbn"), false, true},
		{"an imported message a method returns changed changes the protos' part", bookstoreGuest(time.Second), usedChanged, false, true},
		{"messages no method reaches change nothing", bookstoreGuest(time.Second), unusedChanged, true, true},
		{"another service of the same file changes nothing", bookstoreGuest(time.Second), otherServiceChanged, true, true},
		{"the file's options change the protos' part", bookstoreGuest(time.Second), optionChanged, false, true},
		{"another method timeout changes the declaration's part", bookstoreGuest(2 * time.Second), bookstoreSet("id"), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fingerprints(tc.guests, tc.set)["bookstore.v1.Bookstore"]
			if (got.Protos == base.Protos) != tc.sameProtos || (got.Declaration == base.Declaration) != tc.sameDecl {
				t.Errorf("fingerprint %+v against %+v: want the same protos %v, the same declaration %v", got, base, tc.sameProtos, tc.sameDecl)
			}
		})
	}
}
