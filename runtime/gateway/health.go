package gateway

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"parigot.dev/parigot/runtime/internal/native"
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

// healthChecker answers the standard health service for a gateway: a
// service it serves is SERVING while a guest serving it is ready (in split
// mode, while a replica answers a readiness check), NOT_SERVING while none
// is (a restart, a drain, a process not running); the gateway as a whole
// (the empty service name) is SERVING while every service it serves is.
// A service it does not serve is not found, as it is to reflection.
type healthChecker struct {
	services []string // the proto services the gateway serves
	find     native.Services
}

func (h healthChecker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	serving, err := h.status(ctx, req.Service)
	switch {
	case err != nil:
		return nil, connect.NewError(connect.CodeNotFound, err)
	case serving:
		return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
}

// status says whether service (the gateway as a whole when empty) is
// serving now; the error, a service the gateway does not serve, is the
// client's NotFound. Both of the gateway's servers answer Check with it.
func (h healthChecker) status(ctx context.Context, service string) (serving bool, err error) {
	names := h.services
	if service != "" {
		if !slices.Contains(h.services, service) {
			return false, fmt.Errorf("this gateway serves no service %s", service)
		}
		names = []string{service}
	}
	if len(names) == 1 {
		return h.serving(ctx, names[0]), nil
	}
	// The gateway as a whole: its services are probed at once, so that a
	// check takes as long as the slowest probe (in split mode a request
	// to a replica, bounded at a second), not as long as all of them.
	answers := make(chan bool, len(names)) // probes that outlive the answer do not block
	for _, name := range names {
		go func() { answers <- h.serving(ctx, name) }()
	}
	for range names {
		if !<-answers {
			return false, nil
		}
	}
	return true, nil
}

func (h healthChecker) serving(ctx context.Context, name string) bool {
	if p, ok := h.find.(native.Prober); ok {
		return p.Serving(ctx, name)
	}
	return h.find.Service(name) != nil
}
