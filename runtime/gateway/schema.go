package gateway

import (
	"fmt"
	"os"

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
// they import, and no other: reflection describes what a gateway serves,
// not the rest of the app.
func (s *Schema) servedFiles(services []string) (*protoregistry.Files, error) {
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
		return files.RegisterFile(f)
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
