package codegen

import (
	"bytes"
	"io/fs"
	"strings"

	"github.com/jhump/protoreflect/v2/protoprint"

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
