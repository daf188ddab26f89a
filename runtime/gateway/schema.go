package gateway

import (
	"fmt"
	"os"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	// The HTTP rules of methods are read as the google.api.http extension
	// of their options: linked here, they decode with the descriptors.
	_ "google.golang.org/genproto/googleapis/api/annotations"
)

// Schema is what a gateway knows of an app's protos: their descriptors,
// and message types made from them (dynamicpb) for the JSON that clients
// send.
type Schema struct {
	files *protoregistry.Files
	types *dynamicpb.Types
}

// LoadSchema reads the descriptors `parigot build` wrote (a
// FileDescriptorSet in protobuf's binary form: builder.DescriptorsPath).
func LoadSchema(path string) (*Schema, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the app's proto descriptors (parigot build writes them): %w", err)
	}
	return ParseSchema(b)
}

// ParseSchema reads a FileDescriptorSet in protobuf's binary form.
func ParseSchema(b []byte) (*Schema, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("decoding the app's proto descriptors: %w", err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("the app's proto descriptors do not resolve: %w", err)
	}
	return &Schema{files: files, types: dynamicpb.NewTypes(files)}, nil
}

// service finds the proto service name.
func (s *Schema) service(name string) (protoreflect.ServiceDescriptor, error) {
	d, err := s.files.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		return nil, fmt.Errorf("proto service %s is not in the app's descriptors: rebuild the app (parigot build)", name)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a proto service", name)
	}
	return sd, nil
}

// servedFiles returns the files that define the services named and those
// they import, and no other, each as a client may call it: without the
// services the gateway does not serve, even where one file defines both,
// and without the methods of served services that it refuses (refused:
// the subscription targets, by path) or cannot serve (streaming ones).
// Reflection describes what a client of the gateway may call, not the
// rest of the app: grpcurl list and describe show no method that then
// fails.
func (s *Schema) servedFiles(services []string, refused subscribed) (*protoregistry.Files, error) {
	served := map[protoreflect.FullName]bool{}
	for _, name := range services {
		served[protoreflect.FullName(name)] = true
	}
	callable := func(md protoreflect.MethodDescriptor) bool {
		_, no := refused.refusal("/" + string(md.Parent().FullName()) + "/" + string(md.Name()))
		return !no && !md.IsStreamingClient() && !md.IsStreamingServer()
	}
	files := new(protoregistry.Files)
	var add func(f protoreflect.FileDescriptor) error
	add = func(f protoreflect.FileDescriptor) error {
		if _, err := files.FindFileByPath(f.Path()); err == nil {
			return nil
		}
		for i := 0; i < f.Imports().Len(); i++ {
			if err := add(f.Imports().Get(i).FileDescriptor); err != nil {
				return err
			}
		}
		shown, err := callableOnly(f, served, callable, files)
		if err != nil {
			return err
		}
		return files.RegisterFile(shown)
	}
	for _, name := range services {
		sd, err := s.service(name)
		if err != nil {
			return nil, err
		}
		if err := add(sd.ParentFile()); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// callableOnly returns f without the services that served does not name,
// and without the methods of the others that are not callable, its
// imports resolved in deps; f itself when it has none of those. A file it
// changes loses its source information (comments), whose paths count
// services and methods by their place in the file.
func callableOnly(f protoreflect.FileDescriptor, served map[protoreflect.FullName]bool, callable func(protoreflect.MethodDescriptor) bool, deps *protoregistry.Files) (protoreflect.FileDescriptor, error) {
	changed := false
	all := f.Services()
	for i := 0; i < all.Len() && !changed; i++ {
		sd := all.Get(i)
		changed = !served[sd.FullName()]
		for j := 0; j < sd.Methods().Len() && !changed; j++ {
			changed = !callable(sd.Methods().Get(j))
		}
	}
	if !changed {
		return f, nil
	}
	fdp := protodesc.ToFileDescriptorProto(f)
	fdp.Service = slices.DeleteFunc(fdp.Service, func(sd *descriptorpb.ServiceDescriptorProto) bool {
		return !served[f.Package().Append(protoreflect.Name(sd.GetName()))]
	})
	for _, sdp := range fdp.Service {
		sd := all.ByName(protoreflect.Name(sdp.GetName()))
		sdp.Method = slices.DeleteFunc(sdp.Method, func(mdp *descriptorpb.MethodDescriptorProto) bool {
			return !callable(sd.Methods().ByName(protoreflect.Name(mdp.GetName())))
		})
	}
	fdp.SourceCodeInfo = nil
	shown, err := protodesc.NewFile(fdp, deps)
	if err != nil {
		return nil, fmt.Errorf("describing %s for reflection: %w", f.Path(), err)
	}
	return shown, nil
}
