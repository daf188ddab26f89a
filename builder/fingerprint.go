package builder

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"parigot.dev/parigot/manifest"
)

// Fingerprint says what the build of one proto service was made from, in
// a few characters that two machines compare: when they differ, the
// machines were built from different sources.
type Fingerprint struct {
	// Protos is a hash of the compiled descriptors of the .proto file
	// that defines the service and of every file it imports.
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
	files := map[string]*descriptorpb.FileDescriptorProto{}
	definedIn := map[string]string{} // proto service -> its file
	for _, f := range set.GetFile() {
		files[f.GetName()] = f
		for _, s := range f.GetService() {
			name := s.GetName()
			if f.GetPackage() != "" {
				name = f.GetPackage() + "." + name
			}
			definedIn[name] = f.GetName()
		}
	}
	prints := map[string]Fingerprint{}
	for _, g := range services {
		decl := sha256.Sum256(fmt.Appendf(nil, "%q %q %d %d", g.Name, g.Implements, g.MethodTimeout, g.Replicas))
		for _, svc := range g.Implements {
			prints[svc] = Fingerprint{
				Protos:      protosHash(files, definedIn[svc]),
				Declaration: hex.EncodeToString(decl[:8]),
			}
		}
	}
	return prints
}

// protosHash is a hash of the file named root and of the files it
// imports, directly or not, each encoded deterministically; of nothing
// when root is not in files.
func protosHash(files map[string]*descriptorpb.FileDescriptorProto, root string) string {
	seen := map[string]bool{}
	var walk func(name string)
	walk = func(name string) {
		if seen[name] || files[name] == nil {
			return
		}
		seen[name] = true
		for _, dep := range files[name].GetDependency() {
			walk(dep)
		}
	}
	walk(root)
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, name := range names {
		f := proto.CloneOf(files[name])
		f.SourceCodeInfo = nil // comments and positions: no part of what crosses the wire
		b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(f)
		fmt.Fprintf(h, "%d:", len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
