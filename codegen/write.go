package codegen

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"google.golang.org/protobuf/types/pluginpb"

	"parigot.dev/parigot/internal/genfile"
)

// siblingSuffixes end the names of the files parigot writes beside a
// proto's <name>.pb.go, each for some protos only: stubs and native clients
// for those that define services, typed errors for those that declare
// some, fast marshalling for those vtprotobuf serves.
var siblingSuffixes = []string{stubSuffix, nativeSuffix, errorsSuffix, vtSuffix}

// write puts the response's files into the app directory, each only when its
// content differs from what is there, and removes the files parigot wrote
// beside a generated proto's <name>.pb.go that it no longer gets: the stubs
// of a proto that no longer defines services, the typed errors of one that
// no longer declares any, the fast marshalling of one that no longer gets
// it. Left in place, they would not compile.
func (c *compilation) write(resp *pluginpb.CodeGeneratorResponse, res *Result) hcl.Diagnostics {
	var diags hcl.Diagnostics
	fail := func(summary string, err error) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: err.Error()})
	}
	prefix := c.in.Module + "/"
	names := map[string]bool{}
	for _, f := range resp.GetFile() {
		names[f.GetName()] = true
	}
	for _, f := range resp.GetFile() {
		name := f.GetName()
		if f.GetInsertionPoint() != "" || !strings.HasPrefix(name, prefix) || strings.Contains(name, "..") {
			fail("Generated file outside the app", fmt.Errorf("the generator produced %s, which is not below the module %s", name, c.in.Module))
			continue
		}
		abs := filepath.Join(c.in.AppDir, filepath.FromSlash(strings.TrimPrefix(name, prefix)))
		res.Files = append(res.Files, abs)
		changed, err := genfile.WriteIfChanged(abs, []byte(f.GetContent()))
		if err != nil {
			fail("Cannot write generated file", err)
			continue
		}
		if changed {
			res.Written = append(res.Written, abs)
		}
		if isMessageFile(name) {
			for _, suffix := range siblingSuffixes {
				stub := strings.TrimSuffix(name, ".pb.go") + suffix
				if names[stub] {
					continue
				}
				stubAbs := filepath.Join(c.in.AppDir, filepath.FromSlash(strings.TrimPrefix(stub, prefix)))
				removed, err := removeStale(stubAbs)
				if err != nil {
					fail("Cannot remove stale generated file", err)
				} else if removed {
					res.Removed = append(res.Removed, stubAbs)
				}
			}
		}
	}
	return diags
}

// isMessageFile reports whether name is a protoc-gen-go <name>.pb.go file
// rather than one of the files parigot writes beside it.
func isMessageFile(name string) bool {
	if !strings.HasSuffix(name, ".pb.go") {
		return false
	}
	for _, suffix := range siblingSuffixes {
		if strings.HasSuffix(name, suffix) {
			return false
		}
	}
	return true
}

// removeStale removes name if it is a file parigot generated.
func removeStale(name string) (bool, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !bytes.HasPrefix(b, []byte(stubHeader+"\n")) {
		return false, nil // someone else's file: leave it alone
	}
	return true, os.Remove(name)
}
