package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/format"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"text/template"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/internal/srctree"
	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/templates"
)

// parigotSrcEnv names the environment variable that points parigot init at
// the parigot source tree new apps use.
const parigotSrcEnv = "PARIGOT_SRC"

// scaffold is the data every template of templates.Init executes with: the
// names of one new app.
type scaffold struct {
	Name    string // the app, e.g. "my-shop": the base of the directory
	Module  string // the app's Go module path
	Pkg     string // proto package's first element and Go package prefix, e.g. "myshop"
	Type    string // the proto service, e.g. "MyShop"
	Service string // the service's name and directory
	Program string // the program's name and directory

	GoVersion      string // go directive of go.mod
	Toolchain      string // toolchain directive of go.mod, if parigot's has one
	ParigotVersion string // required version of parigot.dev/parigot
	Requires       []requirement
	Replace        string // directory parigot.dev/parigot is replaced with
}

// requirement is one require line of a go.mod.
type requirement struct {
	Path, Version string
	Indirect      bool
}

var (
	goLineRE = regexp.MustCompile(`^go\s+(\S+)`)
	toolRE   = regexp.MustCompile(`^toolchain\s+(\S+)`)
)

// reservedDirs are directories of an app that parigot itself uses, so no
// guest may be called that.
var reservedDirs = []string{builder.BuildDir, "gen", "proto"}

// nameLike is a valid app name close to name, for the example of the
// error that refuses name: lowercased, each run of other characters a
// "-", starting with a letter; "shop" when nothing is left.
func nameLike(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	like := strings.Trim(b.String(), "-_")
	if like != "" && (like[0] < 'a' || like[0] > 'z') {
		like = "app-" + like
	}
	if len(like) > 64 {
		like = strings.TrimRight(like[:64], "-_")
	}
	if !manifest.ValidName(like) {
		return "shop"
	}
	return like
}

// newScaffold derives the names of an app created in dir. module may be
// empty: the module is then the app's name.
func newScaffold(dir, module string) (*scaffold, error) {
	name := filepath.Base(filepath.Clean(dir))
	if !manifest.ValidName(name) {
		return nil, usageError{err: fmt.Errorf("%q cannot name an app: the last element of NAME is the app's name, and app names start with a lowercase letter, hold only lowercase letters, digits, \"_\" and \"-\", and are at most 64 characters long (for example parigot init %s)", name, filepath.Join(filepath.Dir(dir), nameLike(name)))}
	}
	if module == "" {
		module = name
	}
	if err := manifest.CheckModulePath(module); err != nil {
		return nil, usageError{err: fmt.Errorf("--module: %w; give one like example.com/%s", err, name)}
	}
	s := &scaffold{Name: name, Module: module, Service: name, Program: "hello"}
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' }) {
		s.Pkg += part
		s.Type += strings.ToUpper(part[:1]) + part[1:]
	}
	if slices.Contains(reservedDirs, s.Service) {
		s.Service += "-service"
	}
	if s.Service == s.Program {
		s.Program = "hello-client"
	}
	return s, nil
}

// parigotSource is the parigot source tree a new app's go.mod points at.
type parigotSource struct {
	Dir string // absolute; its go.mod declares module parigot.dev/parigot
	How string // how it was found, for the user
}

// findParigot finds the parigot source tree: flagDir when given, else
// $PARIGOT_SRC, else the tree this binary was compiled from.
func findParigot(flagDir string) (parigotSource, error) {
	if flagDir != "" {
		dir, err := srctree.Check(flagDir)
		if err != nil {
			return parigotSource{}, fmt.Errorf("--parigot %s: %w; point at the root of a parigot checkout", flagDir, err)
		}
		return parigotSource{Dir: dir, How: "--parigot"}, nil
	}
	if env := os.Getenv(parigotSrcEnv); env != "" {
		dir, err := srctree.Check(env)
		if err != nil {
			return parigotSource{}, fmt.Errorf("$%s=%s: %w; point at the root of a parigot checkout", parigotSrcEnv, env, err)
		}
		return parigotSource{Dir: dir, How: "$" + parigotSrcEnv}, nil
	}
	if dir := srctree.BuiltFrom(); dir != "" {
		return parigotSource{Dir: dir, How: "the source tree this parigot was built from"}, nil
	}
	return parigotSource{}, fmt.Errorf("cannot find the parigot source tree that the new app's go.mod must use: "+
		"this parigot binary records no source directory (it was built with -trimpath, or the tree has moved). "+
		"Pass --parigot DIR or set %s=DIR, where DIR is a checkout of parigot (its go.mod says module %s)", parigotSrcEnv, srctree.Module)
}

// useParigot fills in the go.mod data from parigot's own go.mod in src: the
// same go version and the same versions of every dependency, so that the app
// builds offline from whatever module cache built parigot.
func (s *scaffold) useParigot(src parigotSource) error {
	mod, err := os.ReadFile(filepath.Join(src.Dir, "go.mod"))
	if err != nil {
		return err
	}
	s.ParigotVersion, s.Replace = "v0.0.0", src.Dir
	s.Requires = nil
	inBlock := false
	sc := bufio.NewScanner(bytes.NewReader(mod))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case inBlock && line == ")":
			inBlock = false
		case inBlock:
			s.addRequire(strings.Fields(line))
		case line == "require (":
			inBlock = true
		case strings.HasPrefix(line, "require "):
			s.addRequire(strings.Fields(strings.TrimPrefix(line, "require ")))
		case goLineRE.MatchString(line):
			s.GoVersion = goLineRE.FindStringSubmatch(line)[1]
		case toolRE.MatchString(line):
			s.Toolchain = toolRE.FindStringSubmatch(line)[1]
		}
	}
	slices.SortFunc(s.Requires, func(a, b requirement) int { return strings.Compare(a.Path, b.Path) })
	if s.GoVersion == "" {
		s.GoVersion = strings.TrimPrefix(runtime.Version(), "go")
	}
	return nil
}

func (s *scaffold) addRequire(f []string) {
	if len(f) != 2 {
		return
	}
	// The app's own code imports protobuf and vtprotobuf (the generated
	// messages and their fast marshalling); it needs the rest only through
	// parigot.
	direct := f[0] == "google.golang.org/protobuf" || f[0] == "github.com/planetscale/vtprotobuf"
	s.Requires = append(s.Requires, requirement{Path: f[0], Version: f[1], Indirect: !direct})
}

// files renders every template of templates.Init: app-relative slash path ->
// content.
func (s *scaffold) files() (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(templates.Init, templates.InitRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, templates.InitRoot+"/"), ".tmpl")
		elems := strings.Split(rel, "/")
		for i, e := range elems {
			e = strings.ReplaceAll(e, "_pkg_", s.Pkg)
			e = strings.ReplaceAll(e, "_service_", s.Service)
			elems[i] = strings.ReplaceAll(e, "_program_", s.Program)
		}
		rel = path.Join(elems...)
		t, err := template.New(path.Base(p)).Option("missingkey=error").ParseFS(templates.Init, p)
		if err != nil {
			return fmt.Errorf("template %s: %w", p, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, s); err != nil {
			return fmt.Errorf("template %s: %w", p, err)
		}
		content := b.Bytes()
		if strings.HasSuffix(rel, ".go") {
			if content, err = format.Source(content); err != nil {
				return fmt.Errorf("template %s makes invalid Go: %w", p, err)
			}
		}
		out[rel] = content
		return nil
	})
	return out, err
}

// checkTarget makes sure dir is absent or an empty directory. It returns the
// outermost directory that init will create (empty if dir exists), which is
// what to remove should init fail.
func checkTarget(dir string) (created string, err error) {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return "", fmt.Errorf("%s exists and is not a directory; parigot init creates a new directory, so pick another name", dir)
	case err == nil:
		entries, err := os.ReadDir(dir)
		if err != nil {
			return "", err
		}
		if len(entries) > 0 {
			names := make([]string, 0, 3)
			for _, e := range entries[:min(3, len(entries))] {
				names = append(names, e.Name())
			}
			more := ""
			if len(entries) > 3 {
				more = fmt.Sprintf(" and %d more", len(entries)-3)
			}
			return "", fmt.Errorf("%s is not empty (it holds %s%s); parigot init writes only into a new or empty directory, and has changed nothing. Pick another name, or empty the directory first", dir, strings.Join(names, ", "), more)
		}
		return "", nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	created = abs
	for p := filepath.Dir(abs); p != created; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil {
			break
		}
		created = p
	}
	return created, nil
}

// create writes the app into dir (absent or empty), with go.sum copied from
// parigot's, then generates its Go code. On failure it removes what it
// wrote.
func (s *scaffold) create(ctx context.Context, dir string, src parigotSource, progress io.Writer) (written []string, err error) {
	files, err := s.files()
	if err != nil {
		return nil, err
	}
	created, err := checkTarget(dir)
	if err != nil {
		return nil, err
	}
	if sum, err := os.ReadFile(filepath.Join(src.Dir, "go.sum")); err == nil {
		files["go.sum"] = sum
	}
	defer func() {
		if err == nil {
			return
		}
		if created != "" {
			os.RemoveAll(created)
			return
		}
		// dir was empty: everything in it is ours.
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for rel := range files {
		written = append(written, rel)
	}
	slices.Sort(written)
	for _, rel := range written {
		file := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return nil, err
		}
		if err := writeNew(file, files[rel]); err != nil {
			return nil, err
		}
	}
	if err := builder.Generate(ctx, dir, progress); err != nil {
		return nil, fmt.Errorf("generating the new app's Go code: %w", err)
	}
	return written, nil
}

// writeNew writes a file that must not exist yet.
func writeNew(file string, content []byte) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
