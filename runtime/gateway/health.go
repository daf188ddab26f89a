package gateway

import (
	"strings"

	"connectrpc.com/grpchealth"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// healthFile is the descriptor of grpc/health/v1/health.proto, the
// standard health service, for reflection: grpcurl and buf curl find the
// health service's methods through it. grpchealth serves the service under
// its standard name but registers its descriptor under a package of its own
// (connectext.grpc.health.v1), so that it never clashes with grpc-go's; this
// is that descriptor with the standard names back. nil if it cannot be made.
func healthFile() protoreflect.FileDescriptor {
	const theirs, ours = "connectext.grpc.health.v1", "grpc.health.v1"
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(theirs + ".Health"))
	if err != nil {
		return nil
	}
	fdp := protodesc.ToFileDescriptorProto(d.ParentFile())
	fdp.Name = ptr("grpc/health/v1/health.proto")
	fdp.Package = ptr(ours)
	rename := func(t *string) {
		if t != nil && strings.HasPrefix(*t, "."+theirs+".") {
			*t = "." + ours + strings.TrimPrefix(*t, "."+theirs)
		}
	}
	var fixMessage func(m *descriptorpb.DescriptorProto)
	fixMessage = func(m *descriptorpb.DescriptorProto) {
		for _, f := range m.Field {
			rename(f.TypeName)
		}
		for _, n := range m.NestedType {
			fixMessage(n)
		}
		// The standard names of ServingStatus's values, which grpchealth
		// prefixes (SERVING_STATUS_SERVING for SERVING); the numbers are
		// the same.
		for _, e := range m.EnumType {
			for _, v := range e.Value {
				name := strings.TrimPrefix(v.GetName(), "SERVING_STATUS_")
				if name == "UNSPECIFIED" {
					name = "UNKNOWN"
				}
				v.Name = ptr(name)
			}
		}
	}
	for _, m := range fdp.MessageType {
		fixMessage(m)
	}
	for _, s := range fdp.Service {
		for _, m := range s.Method {
			rename(m.InputType)
			rename(m.OutputType)
		}
	}
	fdp.Options = nil // go_package and the like of grpchealth's copy
	f, err := protodesc.NewFile(fdp, nil)
	if err != nil || f.Services().ByName("Health") == nil || grpchealth.HealthV1ServiceName != ours+".Health" {
		return nil
	}
	return f
}

func ptr[T any](v T) *T { return &v }
