package builder

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"parigot.dev/parigot/manifest"
)

// bookstoreSet is the descriptors of a bookstore.v1.Bookstore service
// whose request has fields, importing a common file.
func bookstoreSet(fields ...string) *descriptorpb.FileDescriptorSet {
	req := &descriptorpb.DescriptorProto{Name: proto.String("GetBookRequest")}
	for i, f := range fields {
		req.Field = append(req.Field, &descriptorpb.FieldDescriptorProto{Name: proto.String(f), Number: proto.Int32(int32(i + 1)),
			Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()})
	}
	return &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{
		{Name: proto.String("common.proto"), Package: proto.String("common")},
		{Name: proto.String("bookstore.proto"), Package: proto.String("bookstore.v1"), Dependency: []string{"common.proto"},
			MessageType: []*descriptorpb.DescriptorProto{req},
			Service:     []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("Bookstore")}}},
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
	commented.File[1].SourceCodeInfo = &descriptorpb.SourceCodeInfo{Location: []*descriptorpb.SourceCodeInfo_Location{{LeadingComments: proto.String("a comment")}}}
	importChanged := bookstoreSet("id")
	importChanged.File[0].MessageType = []*descriptorpb.DescriptorProto{{Name: proto.String("Money")}}
	for _, tc := range []struct {
		name                 string
		guests               []*manifest.Guest
		set                  *descriptorpb.FileDescriptorSet
		sameProtos, sameDecl bool
	}{
		{"the same sources give the same fingerprint", bookstoreGuest(time.Second), bookstoreSet("id"), true, true},
		{"comments alone change nothing", bookstoreGuest(time.Second), commented, true, true},
		{"a field added changes the protos' part", bookstoreGuest(time.Second), bookstoreSet("id", "isbn"), false, true},
		{"an imported file changed changes the protos' part", bookstoreGuest(time.Second), importChanged, false, true},
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
