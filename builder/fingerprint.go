package builder

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"parigot.dev/parigot/manifest"
)

// Fingerprint says what the build of one proto service was made from, in
// a few characters that two machines compare: when they differ, the
// machines were built from different sources.
type Fingerprint struct {
	// Protos is a hash of the compiled descriptors of the service and
	// of every message and enum its methods reach (see protosHash).
	Protos string
	// Declaration is a hash of what the parigot.hcl of the build declares
	// of the service guest that implements it, as far as its callers
	// rely on it: its name, the services it implements, its method
	// timeout and its replicas.
	Declaration string
}

// Fingerprints reads the descriptors the last build of app wrote
// (DescriptorsPath) and returns the fingerprint of each proto service
// that a service of app implements, by full name.
func Fingerprints(app *manifest.App) (map[string]Fingerprint, error) {
	b, err := os.ReadFile(DescriptorsPath(app))
	if err != nil {
		return nil, fmt.Errorf("reading the app's proto descriptors (run parigot build): %w", err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(BuildDir, DescriptorsFile), err)
	}
	return fingerprints(app.Services, &set), nil
}

// fingerprints is the fingerprint of each proto service that one of
// services implements, from set.
func fingerprints(services []*manifest.Guest, set *descriptorpb.FileDescriptorSet) map[string]Fingerprint {
	// A set that does not resolve (it cannot, from a build that
	// succeeded) gives no protos' part: callers then compare nothing.
	files, _ := protodesc.NewFiles(set)
	prints := map[string]Fingerprint{}
	for _, g := range services {
		decl := sha256.Sum256(fmt.Appendf(nil, "%q %q %d %d", g.Name, g.Implements, g.MethodTimeout, g.Replicas))
		for _, svc := range g.Implements {
			prints[svc] = Fingerprint{
				Protos:      protosHash(files, svc),
				Declaration: hex.EncodeToString(decl[:8]),
			}
		}
	}
	return prints
}

// protosHash is a hash of what crosses the wire for the proto service
// named svc: its service block (methods, their types and options) and
// every message and enum its methods' requests and replies reach through
// their fields, each with the syntax, edition and options of its file,
// encoded deterministically, without comments or positions. What else
// the same files hold (another service, a message none of its methods
// reach) is no part of it: a caller of an unchanged service of a file is
// not told that its protos changed. "" when files does not hold svc.
func protosHash(files *protoregistry.Files, svc string) string {
	if files == nil {
		return ""
	}
	d, err := files.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		return ""
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return ""
	}
	h := sha256.New()
	deterministic := proto.MarshalOptions{Deterministic: true}
	fileParts := map[string][]byte{} // by path: what of a file bears on how its types are encoded
	write := func(name protoreflect.FullName, file protoreflect.FileDescriptor, m proto.Message) {
		part, ok := fileParts[file.Path()]
		if !ok {
			fd := protodesc.ToFileDescriptorProto(file)
			opts, _ := deterministic.Marshal(fd.GetOptions())
			part = fmt.Appendf(nil, "%s %s %d:%s", fd.GetSyntax(), fd.GetEdition(), len(opts), opts)
			fileParts[file.Path()] = part
		}
		b, _ := deterministic.Marshal(m)
		fmt.Fprintf(h, "%s %d:%s%d:", name, len(part), part, len(b))
		h.Write(b)
	}
	write(sd.FullName(), sd.ParentFile(), protodesc.ToServiceDescriptorProto(sd))
	seen := map[protoreflect.FullName]bool{}
	var message func(md protoreflect.MessageDescriptor)
	enum := func(ed protoreflect.EnumDescriptor) {
		if seen[ed.FullName()] {
			return
		}
		seen[ed.FullName()] = true
		write(ed.FullName(), ed.ParentFile(), protodesc.ToEnumDescriptorProto(ed))
	}
	message = func(md protoreflect.MessageDescriptor) {
		if seen[md.FullName()] {
			return
		}
		seen[md.FullName()] = true
		dp := protodesc.ToDescriptorProto(md)
		dp.NestedType, dp.EnumType = nil, nil // each counts where a field reaches it
		write(md.FullName(), md.ParentFile(), dp)
		fields := md.Fields()
		for i := range fields.Len() {
			f := fields.Get(i)
			if f.Message() != nil {
				message(f.Message())
			}
			if f.Enum() != nil {
				enum(f.Enum())
			}
		}
	}
	methods := sd.Methods()
	for i := range methods.Len() {
		message(methods.Get(i).Input())
		message(methods.Get(i).Output())
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
