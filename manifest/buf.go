package manifest

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"go.yaml.in/yaml/v3"

	"parigot.dev/parigot/internal/suggest"
)

// bufConfig is the part of a buf.yaml (version v2) parigot reads: the
// modules, each a directory of .proto files that import each other by their
// path below it, minus what it excludes.
type bufConfig struct {
	Version string      `yaml:"version"`
	Modules []bufModule `yaml:"modules"`
	Deps    []string    `yaml:"deps"`
}

// bufModule is one module of a buf.yaml v2: its directory, and the
// directories below it whose files it leaves out (excludes) or to which it
// keeps to (includes). Other keys land in Other: buf's own (name, lint,
// breaking), which parigot has no use for, or mistakes.
type bufModule struct {
	Path     string         `yaml:"path"`
	Excludes []string       `yaml:"excludes"`
	Includes []string       `yaml:"includes"`
	Other    map[string]any `yaml:",inline"`
}

// bufModuleKeys are the keys of a module in a buf.yaml v2.
var bufModuleKeys = []string{"path", "name", "excludes", "includes", "lint", "breaking"}

// decodeBuf turns the proto block p's buf attribute (the app-relative path
// of a buf.yaml, or of the directory holding one) into one Proto per module
// of that buf.yaml: its root the module's directory, its files every .proto
// below it that the module does not exclude, in path order.
func (d *decoder) decodeBuf(p *Proto, attr *hcl.Attribute) []*Proto {
	rng := attr.Expr.Range()
	rel, ok := d.str(attr, `buf = "buf.yaml"`)
	if !ok || !d.checkAppPath("buf", rel, rng, "buf = %q", "buf.yaml") {
		return nil
	}
	file := filepath.Join(d.app.Dir, filepath.FromSlash(rel))
	if fi, err := os.Stat(file); err == nil && fi.IsDir() {
		file = filepath.Join(file, "buf.yaml")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		d.errf(rng, "Cannot read buf.yaml",
			"buf = %q names %s, which cannot be read (%v). buf is the path of the app's buf.yaml (v2), relative to the app directory, or of the directory holding it.",
			rel, file, err)
		return nil
	}
	var cfg bufConfig
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		d.errf(rng, "Invalid buf.yaml", "%s is not valid YAML: %v.", file, err)
		return nil
	}
	switch {
	case cfg.Version != "v2":
		d.errf(rng, "buf.yaml is not version v2",
			"%s has version %q; parigot reads buf.yaml v2, whose modules give the proto roots. Run buf config migrate to move to v2.", file, cfg.Version)
		return nil
	case len(cfg.Deps) > 0:
		d.errf(rng, "buf.yaml has dependencies",
			"%s depends on %s from the Buf Schema Registry, which parigot does not fetch (it builds with nothing downloaded). Put those protos in the app (buf export), as a module of buf.yaml, and remove deps.",
			file, strings.Join(cfg.Deps, ", "))
		return nil
	}
	if len(cfg.Modules) == 0 {
		cfg.Modules = append(cfg.Modules, bufModule{Path: "."})
	}
	base := path.Dir(filepath.ToSlash(mustRel(d.app.Dir, file)))
	var out []*Proto
	for _, m := range cfg.Modules {
		if unknown := unknownBufKeys(m); len(unknown) > 0 {
			detail := fmt.Sprintf("Module %q of %s has the key %q, which a buf.yaml v2 module does not have (it has %s).",
				m.Path, file, unknown[0], strings.Join(bufModuleKeys, ", "))
			if c := suggest.Closest(unknown[0], bufModuleKeys); c != "" {
				detail += fmt.Sprintf(" Did you mean %q?", c)
			}
			d.errf(rng, "Unknown key in buf.yaml", "%s", detail)
			continue
		}
		root := path.Clean(path.Join(base, m.Path))
		if !d.checkAppPath("buf module path", root, rng, "path: %q", "proto") || !d.checkProtoRoot(root, m.Path, file, rng) {
			continue
		}
		excluded := map[string]bool{}
		for _, x := range m.Excludes {
			excluded[path.Clean(path.Join(base, x))] = true
		}
		files, err := protoFilesBelow(d.app.Dir, root, excluded)
		if err != nil {
			d.errf(rng, "Cannot read a buf module", "Listing the .proto files of module %q of %s failed: %v.", m.Path, file, err)
			continue
		}
		files = included(files, base, m.Includes)
		if len(files) == 0 {
			d.errf(rng, "Empty buf module", "Module %q of %s holds no .proto file (inside its includes and outside its excludes). Remove the module, or add its protos.", m.Path, file)
			continue
		}
		q := &Proto{Name: p.Name, Root: root, Files: files, DeclRange: p.DeclRange, RootRange: rng,
			Buf: filepath.ToSlash(mustRel(d.app.Dir, file)), BufRange: rng}
		for range files {
			q.FileRanges = append(q.FileRanges, rng)
		}
		out = append(out, q)
	}
	return out
}

// unknownBufKeys are the keys of m that a buf.yaml v2 module does not
// have, sorted.
func unknownBufKeys(m bufModule) []string {
	var unknown []string
	for k := range m.Other {
		if !slices.Contains(bufModuleKeys, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	return unknown
}

// included keeps the files (app-relative) below one of the directories
// includes names (relative to base, the buf.yaml's directory), as buf does
// for a module with includes; all of them when there are none.
func included(files []string, base string, includes []string) []string {
	if len(includes) == 0 {
		return files
	}
	var kept []string
	for _, f := range files {
		for _, in := range includes {
			if dir := path.Clean(path.Join(base, in)); strings.HasPrefix(f, dir+"/") {
				kept = append(kept, f)
				break
			}
		}
	}
	return kept
}

// protoFilesBelow lists the .proto files below the app-relative directory
// root, app-relative and slash-separated, in path order, leaving out the
// app-relative paths in excluded and everything below them.
func protoFilesBelow(appDir, root string, excluded map[string]bool) ([]string, error) {
	var files []string
	err := filepath.WalkDir(filepath.Join(appDir, filepath.FromSlash(root)), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(mustRel(appDir, p))
		if excluded[rel] {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.IsDir() && strings.HasSuffix(rel, ".proto") {
			files = append(files, rel)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// mustRel is p relative to base, which holds it (the paths are checked to
// be inside the app); p itself should that ever not hold.
func mustRel(base, p string) string {
	rel, err := filepath.Rel(base, p)
	if err != nil {
		return p
	}
	return rel
}
