package codegen

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/jhump/protoreflect/v2/protoprint"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	shipped "parigot.dev/parigot/proto"
)

// ImportableSources is the .proto source of every file an app may import
// that parigot resolves itself (its own protos, and google/api's HTTP
// annotations), by import path: for tools that read only sources, such as
// buf. The google/api files are printed from the descriptors parigot
// links (protoprint), since their source is neither copied nor fetched
// (see googleAPI): the same declarations and options, without comments.
func ImportableSources() (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(shipped.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".proto") {
			return err
		}
		b, err := fs.ReadFile(shipped.FS, p)
		out[p] = b
		return err
	})
	if err != nil {
		return nil, err
	}
	for p, fd := range googleAPI {
		var b bytes.Buffer
		if err := new(protoprint.Printer).PrintProtoFile(fd, &b); err != nil {
			return nil, err
		}
		out[p] = b.Bytes()
	}
	return out, nil
}

// shadowedBuiltins reports, as warnings at the top of each, the app's
// files whose import path is one of a proto parigot builds in (a
// well-known type, google/api's, parigot's own): the compiler takes the
// app's file for every import of that path, so an app file that differs
// from the built-in one changes what its importers see, and their errors
// (an unknown extension, say) then say nothing of why.
func shadowedBuiltins(in Input) hcl.Diagnostics {
	builtin := map[string]bool{}
	for p := range googleAPI {
		builtin[p] = true
	}
	fs.WalkDir(shipped.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".proto") {
			builtin[p] = true
		}
		return nil
	})
	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		if strings.HasPrefix(f.Path(), "google/protobuf/") {
			builtin[f.Path()] = true
		}
		return true
	})
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	for _, set := range in.Sets {
		root := cleanRel(set.Root)
		if seen[root] {
			continue
		}
		seen[root] = true
		for _, p := range slices.Sorted(maps.Keys(builtin)) {
			if _, err := os.Stat(filepath.Join(in.AppDir, filepath.FromSlash(root), filepath.FromSlash(p))); err != nil {
				continue
			}
			name := filepath.Join(in.DisplayDir, filepath.FromSlash(root), filepath.FromSlash(p))
			at := hcl.Pos{Line: 1, Column: 1}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "The app's file takes the place of a built-in proto",
				Detail: fmt.Sprintf("Its import path, %s, is that of a proto parigot builds in, and every import of it gets the app's file instead: unless it is a copy of the same file, what its importers use from it (google.api.http, say) is not there. Remove or rename it to use parigot's.",
					p),
				Subject: &hcl.Range{Filename: name, Start: at, End: at},
			})
		}
	}
	return diags
}
