package codegen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/ast"
	"github.com/bufbuild/protocompile/linker"
	"github.com/bufbuild/protocompile/reporter"
	"github.com/hashicorp/hcl/v2"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	"parigot.dev/parigot/internal/diag"
	"parigot.dev/parigot/internal/suggest"
	shipped "parigot.dev/parigot/proto"
)

// compilation is one Generate call's view of the proto sources: what was
// compiled, from which import root, and how to point diagnostics into it.
type compilation struct {
	in      Input
	mu      sync.Mutex        // guards sources, notText and edition2024 while protocompile reads files concurrently
	notText []*hcl.Diagnostic // the files open found not to be UTF-8 text
	sources diag.Sources      // by display file name
	// edition2024 holds the files (absolute paths) that declare edition
	// 2024, which the compiler is handed as edition 2023 (see open).
	edition2024 map[string]bool

	sets  []compiledSet
	files map[string]*protoFile // by import path ("greeting/v1/greeting.proto")
	order []string              // import paths, dependencies first

	// roots are the import roots of every set (slash-separated,
	// app-relative): each set imports from its own, then from the others,
	// as protoc's -I flags do, and as buf build does for the modules of
	// one buf.yaml.
	roots   []string
	rootsMu sync.Mutex
	rootFor map[[2]string]string // (a set's root, import path) -> the root the file is read from
}

type compiledSet struct {
	root    string // slash-separated, app-relative, "." for the app dir
	listed  []string
	results linker.Files
}

type protoFile struct {
	path   string
	root   string        // root of the set that compiled it
	file   linker.File   // the linked descriptor
	res    linker.Result // non-nil when compiled from the app's sources
	fdp    *descriptorpb.FileDescriptorProto
	listed bool // named in a ProtoSet's Files
	gen    bool // generate Go code for it
	// importedBy is the first app file found to import it, for a
	// diagnostic about the import.
	importedBy *protoFile
}

// display is the diagnostic file name of the proto file at import path p of
// a set with the given root.
func (c *compilation) display(root, p string) string {
	return filepath.Join(c.in.DisplayDir, filepath.FromSlash(c.rootOf(root, p)), filepath.FromSlash(p))
}

// rootOf is the root that a set of root reads the file at import path p
// from: its own when the file is there, or else the first other root of
// the app that has it (see roots).
func (c *compilation) rootOf(root, p string) string {
	if len(c.roots) < 2 {
		return root
	}
	key := [2]string{root, p}
	c.rootsMu.Lock()
	defer c.rootsMu.Unlock()
	if r, ok := c.rootFor[key]; ok {
		return r
	}
	found := root
	for _, r := range c.importRoots(root) {
		if st, err := os.Stat(filepath.Join(c.in.AppDir, filepath.FromSlash(r), filepath.FromSlash(p))); err == nil && !st.IsDir() {
			found = r
			break
		}
	}
	if c.rootFor == nil {
		c.rootFor = map[[2]string]string{}
	}
	c.rootFor[key] = found
	return found
}

// importRoots are the roots a set of root imports from, in order: its
// own, then the others in the order of the sets.
func (c *compilation) importRoots(root string) []string {
	out := []string{root}
	for _, r := range c.roots {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// compile parses and links every set's files.
func (c *compilation) compile(ctx context.Context) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, set := range c.in.Sets {
		if r := cleanRel(set.Root); !slices.Contains(c.roots, r) {
			c.roots = append(c.roots, r)
		}
	}
	for _, set := range c.in.Sets {
		root := cleanRel(set.Root)
		var listed []string
		seen := map[string]bool{}
		var setDiags hcl.Diagnostics
		for i, f := range set.Files {
			name, d := c.listedFile(root, f, rangeAt(set.Ranges, i))
			if d != nil {
				setDiags = append(setDiags, d)
				continue
			}
			if !seen[name] {
				seen[name] = true
				listed = append(listed, name)
			}
		}
		diags = append(diags, setDiags...)
		if setDiags.HasErrors() || len(listed) == 0 {
			continue
		}
		results, d := c.compileSet(ctx, root, listed)
		diags = append(diags, d...)
		if !d.HasErrors() {
			c.sets = append(c.sets, compiledSet{root: root, listed: listed, results: results})
		}
	}
	return diags
}

// listedFile checks one entry of a set's Files and returns its import path.
func (c *compilation) listedFile(root, f string, rng *hcl.Range) (string, *hcl.Diagnostic) {
	at := func(summary, detail string) *hcl.Diagnostic {
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng}
	}
	if f == "" || filepath.IsAbs(f) {
		return "", at("Invalid proto file path", fmt.Sprintf("The proto file %q must be a path relative to the app directory.", f))
	}
	rel := cleanRel(f)
	var name string
	switch {
	case root == ".":
		name = rel
	case strings.HasPrefix(rel, root+"/"):
		name = strings.TrimPrefix(rel, root+"/")
	}
	if name == "" || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", at("Proto file outside its import root",
			fmt.Sprintf("The proto file %q is not under the import root %q; move it there or change the root.", f, root))
	}
	st, err := os.Stat(filepath.Join(c.in.AppDir, filepath.FromSlash(rel)))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", at("Proto file not found",
			fmt.Sprintf("There is no file %s; the paths in files are relative to the app directory (%s).",
				filepath.Join(c.in.DisplayDir, filepath.FromSlash(rel)), c.in.DisplayDir))
	case err != nil:
		return "", at("Cannot read proto file", err.Error())
	case st.IsDir():
		return "", at("Proto file is a directory",
			fmt.Sprintf("%s is a directory; list the .proto files in it instead.", filepath.Join(c.in.DisplayDir, filepath.FromSlash(rel))))
	}
	return name, nil
}

func (c *compilation) compileSet(ctx context.Context, root string, names []string) (linker.Files, hcl.Diagnostics) {
	var (
		mu   sync.Mutex
		errs []reporter.ErrorWithPos
	)
	rep := reporter.NewReporter(func(e reporter.ErrorWithPos) error {
		mu.Lock()
		errs = append(errs, e)
		mu.Unlock()
		return nil // keep going: report every error at once
	}, nil)
	var importPaths []string
	for _, r := range c.importRoots(root) {
		importPaths = append(importPaths, filepath.Join(c.in.AppDir, filepath.FromSlash(r)))
	}
	under := func(p string) bool {
		for _, dir := range importPaths {
			if rel, err := filepath.Rel(dir, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return true
			}
		}
		return false
	}
	comp := protocompile.Compiler{
		// The app's own files first, then the protos parigot ships
		// (parigot/id/v1/id.proto), then google/api's HTTP annotations
		// and the standard imports, both from the descriptors compiled
		// into parigot.
		Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
			&protocompile.SourceResolver{
				ImportPaths: importPaths,
				Accessor: func(p string) (io.ReadCloser, error) {
					if !under(p) {
						shown := p
						if rel, err := filepath.Rel(c.in.AppDir, p); err == nil {
							shown = filepath.Join(c.in.DisplayDir, rel)
						}
						return nil, fmt.Errorf("%s is outside the import root %s: an import names a file below the root, without \"..\"", shown, c.display(root, "."))
					}
					return c.open(p)
				},
			},
			&protocompile.SourceResolver{Accessor: openShipped},
			protocompile.ResolverFunc(findGoogleAPI),
		}),
		Reporter:       rep,
		SourceInfoMode: protocompile.SourceInfoStandard,
		RetainASTs:     true,
	}
	c.mu.Lock()
	notTextBefore := len(c.notText)
	c.mu.Unlock()
	files, err := c.safeCompile(ctx, comp, names)

	var diags hcl.Diagnostics
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i].GetPosition(), errs[j].GetPosition()
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Offset < b.Offset
	})
	errs = dropFollowOns(errs)
	c.firstDeclaredFirst(root, names, errs)
	seen := map[string]bool{}
	// A file that is not text is reported at its first bad byte, not by
	// the compiler where it is imported or listed.
	c.mu.Lock()
	notText := slices.Clone(c.notText[notTextBefore:])
	c.mu.Unlock()
	diags = append(diags, notText...)
	var kept []reporter.ErrorWithPos
	var keptDiags hcl.Diagnostics
	for _, e := range errs {
		if len(notText) > 0 && strings.Contains(e.Error(), notText[0].Summary) {
			continue
		}
		d := c.errorDiag(root, e)
		key := d.Subject.String() + d.Summary
		if !seen[key] {
			seen[key] = true
			kept, keptDiags = append(kept, e), append(keptDiags, d)
		}
	}
	diags = append(diags, missingImports(kept, keptDiags)...)
	if err != nil && len(diags) == 0 {
		var ewp reporter.ErrorWithPos
		if errors.As(err, &ewp) {
			diags = append(diags, c.errorDiag(root, ewp))
		} else {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot compile the proto files", Detail: err.Error()})
		}
	}
	if err == nil && len(diags) == 0 {
		return files, nil
	}
	return nil, diags
}

// safeCompile runs the compiler, turning a panic into an error.
func (c *compilation) safeCompile(ctx context.Context, comp protocompile.Compiler, names []string) (files linker.Files, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error in the proto compiler: %v", r)
		}
	}()
	return comp.Compile(ctx, names...)
}

// open reads a proto source for the compiler and remembers it for
// diagnostics, without a byte order mark.
//
// protocompile knows editions up to 2023. A file of edition 2024 is handed
// to it as 2023 (the same bytes but one digit, so positions hold) and its
// descriptor is marked 2024 again before the generators see it (see
// request), so that protoc-gen-go generates what edition 2024 means; what
// only edition 2024 can write (export and local, import option) is still a
// syntax error at its position.
func (c *compilation) open(p string) (io.ReadCloser, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	// A byte order mark (some Windows editors write one) is no part of
	// the source: protocompile counts positions after it, and so must the
	// source lines diagnostics show, and the edition 2024 check.
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	name := p
	if rel, err := filepath.Rel(c.in.AppDir, p); err == nil {
		name = filepath.Join(c.in.DisplayDir, rel)
	}
	// The source is kept even when it is not text, so that the
	// diagnostic shows the line with its first bad byte (as U+FFFD) and
	// marks it, as parigot.hcl's does.
	c.mu.Lock()
	c.sources.Add(name, b)
	c.mu.Unlock()
	if d := diag.NotText(name, b); d != nil {
		c.mu.Lock()
		c.notText = append(c.notText, d)
		c.mu.Unlock()
		return nil, errors.New(d.Summary)
	}
	if loc := edition2024.FindSubmatchIndex(b); loc != nil {
		b = bytes.Clone(b)
		b[loc[3]-2] = '3' // "2024" -> "2023"
		c.mu.Lock()
		if c.edition2024 == nil {
			c.edition2024 = map[string]bool{}
		}
		c.edition2024[p] = true
		c.mu.Unlock()
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// editionAsSyntax files the source location (and so the comments) of an
// edition declaration under the syntax field's path, where protoc and buf
// put it: protoc-gen-go prints the comments there at the top of the file,
// and so writes the same bytes as from protoc's request.
func editionAsSyntax(fdp *descriptorpb.FileDescriptorProto) {
	if fdp.GetSyntax() != "editions" {
		return
	}
	const syntaxTag, editionTag = 12, 14
	for _, loc := range fdp.GetSourceCodeInfo().GetLocation() {
		if len(loc.Path) == 1 && loc.Path[0] == editionTag {
			loc.Path[0] = syntaxTag
		}
	}
}

// edition2024 finds a file's edition declaration when it is 2024, as the
// file's first statement (after comments); its first group is the quoted
// edition.
var edition2024 = regexp.MustCompile(`^(?:\s|//[^\n]*\n|/\*(?s:.*?)\*/)*edition\s*=\s*("2024"|'2024')\s*;`)

// googleAPI holds the google/api files an app may import with nothing
// downloaded: the HTTP annotations that the gateway maps REST paths from.
// Like the well-known types, they come from the descriptors of their Go
// packages, which parigot links (the gateway needs them), so their source is
// neither copied nor fetched, and their Go code is the genproto module's,
// which every app's go.mod requires with parigot's versions.
var googleAPI = map[string]protoreflect.FileDescriptor{
	"google/api/annotations.proto": annotations.File_google_api_annotations_proto,
	"google/api/http.proto":        annotations.File_google_api_http_proto,
}

// findGoogleAPI resolves an import of one of googleAPI's files.
func findGoogleAPI(p string) (protocompile.SearchResult, error) {
	if fd := googleAPI[p]; fd != nil {
		return protocompile.SearchResult{Desc: fd}, nil
	}
	return protocompile.SearchResult{}, fs.ErrNotExist
}

// openShipped reads one of the .proto files parigot ships (by import path).
// Their go_package is in parigot's module, so they are compiled for the
// app's imports but never generated into the app.
func openShipped(p string) (io.ReadCloser, error) {
	b, err := fs.ReadFile(shipped.FS, p)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (c *compilation) errorDiag(root string, e reporter.ErrorWithPos) *hcl.Diagnostic {
	if d := c.unclosedStringDiag(root, e); d != nil {
		return d
	}
	msg := c.appRelative(root, compilerMessage(e))
	msg = strings.ReplaceAll(msg, "$end", "end of file") // the parser's name for it
	rng := c.spanRange(root, e.Start(), e.End())
	if d := c.unclosedBlockDiag(msg, rng); d != nil {
		return d
	}
	if d := c.missingImportDiag(root, e, rng); d != nil {
		return d
	}
	if summary, detail, ok := unknownTypeError(msg); ok {
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &rng}
	}
	detail := protoErrorDetail(msg)
	if d := c.duplicateInOneScope(msg, rng); d != "" {
		detail = d
	}
	if d := noSuchEnumValue(msg); d != "" {
		detail = d
	}
	if d := c.mistypedKeyword(msg, rng); d != "" {
		detail = d
	}
	if i := strings.Index(msg, cxxScoping); i >= 0 {
		msg = msg[:i] // the detail says it, with what to do
	}
	summary := capitalize(msg)
	if m := unknownEdition.FindStringSubmatch(msg); m != nil {
		// The compiler lists the editions it knows, which are not
		// those parigot compiles (see open): the detail says those.
		summary = fmt.Sprintf("Edition %s is not one parigot compiles", m[1])
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &rng}
}

// cxxScoping is how the compiler's error for a name declared twice ends
// when the second is an enum value.
const cxxScoping = "; protobuf uses C++ scoping rules for enum values"

// duplicateInOneScope is the detail for a field or enum value declared
// twice in one message or enum (the compiler's error for a name declared
// twice, at a name followed by "= <number>" in the file that declared it
// first), or for an enum value named as one of another enum of the same
// scope; "" for another error. The detail of other names declared twice
// (duplicateNameDetail) speaks of packages, which cannot help here.
func (c *compilation) duplicateInOneScope(msg string, rng hcl.Range) string {
	if strings.Contains(msg, cxxScoping) {
		return "An enum's values are names of the scope that holds the enum (its package, or the message it is declared in), as in C++: two enums of one scope cannot both have a value of that name. Prefix each value with its enum's name (COLOR_UNKNOWN, SIZE_UNKNOWN), as protobuf's style guide has it."
	}
	m := definedAt.FindStringSubmatch(msg)
	sym := duplicateSymbol.FindStringSubmatch(msg)
	if m == nil || sym == nil || m[2] != rng.Filename {
		return ""
	}
	src := c.sources[rng.Filename]
	if rng.End.Byte > len(src) || !fieldNumberNext.Match(src[rng.End.Byte:]) {
		return ""
	}
	name := protoreflect.FullName(sym[1])
	return fmt.Sprintf("%s declares %s twice: a field of a message, or a value of an enum, has a name of its own. Rename one of the two.", name.Parent(), name.Name())
}

// noSuchEnumValue is the detail for an option given a value its enum does
// not have, when the enum is one the running binary links (parigot's
// error codes): the nearest value, and the values there are; "" for
// another error.
func noSuchEnumValue(msg string) string {
	m := enumValueNamed.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(m[1]))
	enum, ok := d.(protoreflect.EnumDescriptor)
	if err != nil || !ok {
		return ""
	}
	var names []string
	for i := range enum.Values().Len() {
		names = append(names, string(enum.Values().Get(i).Name()))
	}
	detail := fmt.Sprintf("The values of %s are %s.", m[1], strings.Join(names, ", "))
	near := suggest.Closest(m[2], names)
	if near == "" { // a value cut short: FAILED_PRECOND
		for _, n := range names {
			if strings.HasPrefix(n, strings.ToUpper(m[2])) {
				near = n
				break
			}
		}
	}
	if near != "" {
		detail = fmt.Sprintf("Did you mean %s? ", near) + detail
	}
	return detail
}

// enumValueNamed matches the compiler's error for an enum value that is
// not; its groups are the enum's full name and the name given.
var enumValueNamed = regexp.MustCompile(`enum ([A-Za-z0-9_.]+) has no value named ([A-Za-z0-9_]+)`)

// mistypedKeyword is the detail for a syntax error at a word near one of
// the .proto language's keywords (mesage, sevice, improt); "" for another
// error.
func (c *compilation) mistypedKeyword(msg string, rng hcl.Range) string {
	if !strings.HasPrefix(msg, "syntax error: unexpected identifier") {
		return ""
	}
	src := c.sources[rng.Filename]
	if rng.Start.Byte >= len(src) {
		return ""
	}
	word := protoWord.Find(src[rng.Start.Byte:])
	if word == nil || slices.Contains(protoKeywords, string(word)) {
		return ""
	}
	near := suggest.Closest(string(word), protoKeywords)
	if near == "" {
		return ""
	}
	return fmt.Sprintf("Did you mean %s? The .proto file does not parse at the marked place. Fix it, and build again.", near)
}

// protoWord matches an identifier at the start of a text.
var protoWord = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`)

// protoKeywords are the words that start a statement of a .proto file.
var protoKeywords = []string{"syntax", "edition", "package", "import", "option", "message", "enum", "service", "rpc", "returns", "extend", "oneof", "map", "reserved", "repeated", "optional", "required", "stream", "extensions"}

// duplicateSymbol matches the compiler's error for a name declared twice;
// its group is the full name.
var duplicateSymbol = regexp.MustCompile(`^symbol "([^"]+)" already defined`)

// fieldNumberNext matches what follows a field's or an enum value's name.
var fieldNumberNext = regexp.MustCompile(`^\s*=\s*-?[0-9]`)

// missingImportDiag says where an import that names no file was looked
// for, and which file of the app it may have meant; nil for another error.
func (c *compilation) missingImportDiag(root string, e reporter.ErrorWithPos, rng hcl.Range) *hcl.Diagnostic {
	var pe *fs.PathError
	if !errors.As(e, &pe) || !errors.Is(pe, fs.ErrNotExist) {
		return nil
	}
	// The path is below the root the compiler looked in last; roots may
	// nest ("." and "vendor"), so the import path is the shortest.
	var imported string
	var where, candidates []string
	for _, r := range c.importRoots(root) {
		dir := filepath.Join(c.in.AppDir, filepath.FromSlash(r))
		if rel, err := filepath.Rel(dir, pe.Path); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && (imported == "" || len(rel) < len(imported)) {
			imported = filepath.ToSlash(rel)
		}
		where = append(where, c.display(r, ".")+string(filepath.Separator))
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".proto") {
				return nil
			}
			if rel, err := filepath.Rel(dir, p); err == nil && filepath.ToSlash(rel) != e.Start().Filename {
				candidates = append(candidates, filepath.ToSlash(rel)) // not the importing file itself
			}
			return nil
		})
	}
	if imported == "" {
		return nil
	}
	candidates = append(candidates, importableShipped()...)
	detail := fmt.Sprintf("There is no %s below the import root %s, nor among the files shipped with parigot or protobuf. An import names a file by its path below the proto block's root in parigot.hcl (the app directory when it has none).",
		imported, strings.Join(where, " or "))
	if len(where) > 1 {
		detail = fmt.Sprintf("There is no %s below the import roots %s, nor among the files shipped with parigot or protobuf. An import names a file by its path below one of the proto blocks' roots in parigot.hcl.",
			imported, strings.Join(where, ", "))
	}
	if near := suggest.Closest(imported, candidates); near != "" {
		detail += fmt.Sprintf(" Did you mean %q?", near)
	} else {
		detail += " Check the path, or add the file."
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Imported proto file not found: " + imported, Detail: detail, Subject: &rng}
}

// importableShipped are the import paths of the files an app imports
// with nothing of its own: the well-known types, google/api's annotations
// and parigot's protos; a mistyped import of one is as near one of these
// as of the app's.
func importableShipped() []string {
	var paths []string
	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		if p := f.Path(); strings.HasPrefix(p, "google/protobuf/") {
			paths = append(paths, p)
		}
		return true
	})
	for p := range googleAPI {
		paths = append(paths, p)
	}
	fs.WalkDir(shipped.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".proto") {
			paths = append(paths, p)
		}
		return nil
	})
	slices.Sort(paths) // the same suggestion whatever the registry's order
	return paths
}

// unknownEdition matches the compiler's error for an edition it does not
// know; its group is the edition, quoted.
var unknownEdition = regexp.MustCompile(`^edition value ("(?:[^"\\]|\\.)*") not recognized`)

// protoErrorDetail says what to do about an error of the proto compiler,
// whose own messages say only what is wrong.
func protoErrorDetail(msg string) string {
	switch {
	case strings.HasPrefix(msg, "syntax error"):
		return "The .proto file does not parse at the marked place (often a missing ';' or '}' just before it). Fix it, and build again."
	case definedAt.MatchString(msg):
		return duplicateNameDetail
	case strings.Contains(msg, "unknown extension "):
		return unknownExtensionDetail(msg)
	case strings.Contains(msg, "edition value"):
		return "parigot compiles editions 2023 and 2024 (and syntax \"proto2\" and \"proto3\"); write one of those."
	case strings.Contains(msg, "outside the import root"):
		return "Import the file by its path below the import root (the proto block's root in parigot.hcl; the app directory when it has none), and move the file there if it is not."
	case strings.Contains(msg, "no such file or directory"):
		return "An import names a file by its path below the import root (the proto block's root in parigot.hcl; the app directory when it has none), or a file shipped with parigot or protobuf. Check the path, or add the file."
	case unknownType.MatchString(msg) || strings.Contains(msg, "not found") || strings.Contains(msg, "undefined"):
		return "Check the spelling, the package prefix, and that the file defining it is imported (and listed in a proto block of parigot.hcl, or shipped with parigot, or a well-known type)."
	}
	return "Fix the .proto file at the marked place, and build again."
}

// unknownExtensionDetail says which file to import for an option the
// compiler does not know: the file that declares it, for the options of
// the files shipped with parigot.
func unknownExtensionDetail(msg string) string {
	ext := unknownExtension(msg)
	if file, what := optionImport(ext); file != "" {
		return fmt.Sprintf("The option %s is one of %s, declared in a file this one must import:\n    import %q;", ext, what, file)
	}
	return "An option in parentheses is an extension declared in another .proto file: check its name, and import the file that declares it."
}

// unknownExtension is the option that msg, an error of the compiler,
// says it does not know; "" for another error.
func unknownExtension(msg string) string {
	const unknown = "unknown extension "
	i := strings.Index(msg, unknown)
	if i < 0 {
		return ""
	}
	return msg[i+len(unknown):]
}

// optionImport is the file that declares the option ext, and what its
// options are for, for the options of the files shipped with parigot: the
// file to import to use it. "" for another option.
func optionImport(ext string) (file, what string) {
	for _, known := range []struct{ prefix, file, what string }{
		{"parigot.errors.v1.", "parigot/errors/v1/errors.proto", "parigot's typed errors (see docs/GUEST_API.md)"},
		{"google.api.http", "google/api/annotations.proto", "the HTTP routes of the gateway (see docs/GATEWAY.md)"},
	} {
		if strings.HasPrefix(ext, known.prefix) {
			return known.file, known.what
		}
	}
	return "", ""
}

// missingImports makes the errors of options a file uses without the
// import that declares them one error per file and import, at the first
// option: one import serves them all, and the error says at which lines
// the others are. errs are the compiler's errors, diags their
// diagnostics (errorDiag), in the same order.
func missingImports(errs []reporter.ErrorWithPos, diags hcl.Diagnostics) hcl.Diagnostics {
	type need struct {
		first *hcl.Diagnostic
		ext   string
		lines []string // of the others
	}
	needs := map[[2]string]*need{} // (file, import) -> the options that need it
	var out hcl.Diagnostics
	for i, d := range diags {
		ext := unknownExtension(compilerMessage(errs[i]))
		file, _ := optionImport(ext)
		if file == "" || d.Subject == nil {
			out = append(out, d)
			continue
		}
		k := [2]string{d.Subject.Filename, file}
		if n := needs[k]; n != nil {
			n.lines = append(n.lines, strconv.Itoa(d.Subject.Start.Line))
			continue
		}
		needs[k] = &need{first: d, ext: ext}
		out = append(out, d)
	}
	for _, n := range needs {
		switch len(n.lines) {
		case 0:
		case 1:
			n.first.Detail += fmt.Sprintf("\nThe import serves the %s option on line %s too.", n.ext, n.lines[0])
		default:
			last := len(n.lines) - 1
			n.first.Detail += fmt.Sprintf("\nThe import serves the %d other %s options of the file too, on lines %s and %s.",
				len(n.lines), n.ext, strings.Join(n.lines[:last], ", "), n.lines[last])
		}
	}
	return out
}

// spanRange converts a protocompile span (whose End is the position of the
// last character) into an hcl.Range in the display file. Columns count
// grapheme clusters, as hcl's do (protocompile expands tabs; see columns).
func (c *compilation) spanRange(root string, start, end ast.SourcePos) hcl.Range {
	name := c.display(root, start.Filename)
	src, ok := c.sources[name]
	if !ok || start.Offset < 0 || start.Offset > len(src) || start.Line == 0 {
		s := hcl.Pos{Line: max(start.Line, 1), Column: max(start.Col, 1), Byte: max(start.Offset, 0)}
		return hcl.Range{Filename: name, Start: s, End: s}
	}
	endByte := start.Offset
	if end.Offset >= start.Offset && end.Offset < len(src) && (end.Line != start.Line || end.Col != start.Col) {
		_, size := utf8.DecodeRune(src[end.Offset:])
		endByte = end.Offset + size
	}
	if endByte == start.Offset && start.Offset < len(src) && src[start.Offset] != '\n' {
		_, size := utf8.DecodeRune(src[start.Offset:])
		endByte += size // mark at least one character
	}
	return hcl.Range{Filename: name, Start: posAt(src, start.Offset), End: posAt(src, endByte)}
}

// nodeRange is the range of an AST node of a compiled file.
func (c *compilation) nodeRange(pf *protoFile, n ast.Node) hcl.Range {
	name := c.display(pf.root, pf.path)
	if pf.res == nil || n == nil {
		return hcl.Range{Filename: name, Start: hcl.Pos{Line: 1, Column: 1}, End: hcl.Pos{Line: 1, Column: 1}}
	}
	fn := pf.res.AST()
	if fn == nil {
		return hcl.Range{Filename: name, Start: hcl.Pos{Line: 1, Column: 1}, End: hcl.Pos{Line: 1, Column: 1}}
	}
	info := fn.NodeInfo(n)
	if !info.IsValid() {
		return hcl.Range{Filename: name, Start: hcl.Pos{Line: 1, Column: 1}, End: hcl.Pos{Line: 1, Column: 1}}
	}
	return c.spanRange(pf.root, info.Start(), info.End())
}

// posAt is the hcl position of byte offset off in src.
func posAt(src []byte, off int) hcl.Pos {
	off = min(max(off, 0), len(src))
	line := 1 + bytes.Count(src[:off], []byte{'\n'})
	lineStart := bytes.LastIndexByte(src[:off], '\n') + 1
	return hcl.Pos{Line: line, Column: 1 + columns(src[lineStart:off]), Byte: off}
}

// request builds the CodeGeneratorRequest protoc would send for the compiled
// sets: every file in dependency order, the app's files to generate, and M
// mappings for the app's files that have no go_package.
func (c *compilation) request() (*pluginpb.CodeGeneratorRequest, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	c.files = map[string]*protoFile{}
	var visit func(root string, f linker.File)
	visit = func(root string, f linker.File) {
		p := f.Path()
		root = c.rootOf(root, p) // a file of another root, imported from this one
		if prev, ok := c.files[p]; ok {
			if prev.root != root && prev.res != nil {
				if res, ok := f.(linker.Result); ok && !proto.Equal(prev.fdp, res.FileDescriptorProto()) {
					rng := hcl.Range{Filename: c.display(root, p), Start: hcl.Pos{Line: 1, Column: 1}, End: hcl.Pos{Line: 1, Column: 1}}
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Two different proto files with one import path",
						Detail: fmt.Sprintf("%s and %s are both imported as %q; every proto file of an app needs its own import path.",
							c.display(prev.root, p), c.display(root, p), p),
						Subject: &rng,
					})
				}
			}
			return
		}
		pf := &protoFile{path: p, root: root, file: f}
		if res, ok := f.(linker.Result); ok {
			pf.res = res
			pf.fdp = res.FileDescriptorProto()
			if c.edition2024[filepath.Join(c.in.AppDir, filepath.FromSlash(root), filepath.FromSlash(p))] {
				pf.fdp.Edition = descriptorpb.Edition_EDITION_2024.Enum()
			}
			editionAsSyntax(pf.fdp)
		} else {
			pf.fdp = protodesc.ToFileDescriptorProto(f)
		}
		c.files[p] = pf // before the imports: an import cycle was reported by the compiler
		imps := f.Imports()
		for i := 0; i < imps.Len(); i++ {
			if dep := f.FindImportByPath(imps.Get(i).Path()); dep != nil {
				visit(root, dep)
				if d := c.files[dep.Path()]; d != nil && d.importedBy == nil && pf.res != nil {
					d.importedBy = pf
				}
			}
		}
		c.order = append(c.order, p)
	}
	for _, s := range c.sets {
		for _, f := range s.results {
			visit(s.root, f)
		}
		for _, name := range s.listed {
			if pf := c.files[name]; pf != nil {
				pf.listed = true
			}
		}
	}
	diags = append(diags, c.sameNameDiags()...)
	diags = append(diags, c.httpRuleDiags()...)

	req := &pluginpb.CodeGeneratorRequest{}
	var params []string
	provided := c.providedModules()
	named := map[string]*protoFile{} // a Go package's import path -> the first file generated into it
	for _, p := range c.order {
		pf := c.files[p]
		req.ProtoFile = append(req.ProtoFile, pf.fdp)
		if pf.res == nil {
			continue // a standard import: it has its Go package already
		}
		goPkg := pf.fdp.GetOptions().GetGoPackage()
		switch {
		case goPkg == "":
			imp, name := c.defaultGoPackage(p)
			params = append(params, fmt.Sprintf("M%s=%s;%s", p, imp, name))
			pf.gen = true
		case inModule(goImportPath(goPkg), c.in.Module):
			if d := c.goPackageNameDiag(pf, goPkg); d != nil {
				diags = append(diags, d)
			}
			pf.gen = true
		case pf.listed:
			diags = append(diags, c.goPackageDiag(pf, goPkg))
			pf.gen = true // for the generators' diagnostics; nothing is written
		case provided != nil && !provided(goImportPath(goPkg)):
			diags = append(diags, c.unprovidedImportDiag(pf, goPkg))
		}
		// An imported app file with a go_package outside the module is
		// someone else's code: it is not generated here.
		if pf.gen {
			req.FileToGenerate = append(req.FileToGenerate, p)
			imp, _ := c.goPackageOf(pf)
			if first := named[imp]; first == nil {
				named[imp] = pf
			} else if d := c.goPackageNamesDiag(first, pf); d != nil {
				diags = append(diags, d)
			}
		}
	}
	diags = append(diags, c.linkedNameDiags()...)
	diags = append(diags, c.goImportCycleDiags()...)
	req.Parameter = proto.String(strings.Join(params, ","))
	if len(params) == 0 {
		req.Parameter = nil
	}
	return req, diags
}

// defaultGoPackage is the Go package of an app proto file without go_package:
// Module/gen/<dir>, named after the last element of dir, or the last two when
// the last is a version ("greeting/v1" -> greetingv1).
func (c *compilation) defaultGoPackage(p string) (importPath, name string) {
	dir := path.Dir(p)
	if dir == "." {
		return c.in.Module + "/gen", "gen"
	}
	parts := strings.Split(dir, "/")
	name = parts[len(parts)-1]
	if len(parts) > 1 && isVersion(name) {
		name = parts[len(parts)-2] + name
	}
	return c.in.Module + "/gen/" + dir, goName(name)
}

func (c *compilation) goPackageDiag(pf *protoFile, goPkg string) *hcl.Diagnostic {
	imp, name := c.defaultGoPackage(pf.path)
	if i := strings.LastIndexByte(goPkg, ';'); i >= 0 && goPkg[i+1:] != "" {
		name = goPkg[i+1:]
	}
	rng := c.nodeRange(pf, goPackageValue(pf))
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "go_package outside the app's module",
		Detail: fmt.Sprintf("The Go package %q is not in the app's module %s, so its code cannot be generated into the app. Write\n    option go_package = \"%s;%s\";\nor remove the option to get that default.",
			goImportPath(goPkg), c.in.Module, imp, name),
		Subject: &rng,
	}
}

// goPackageNameDiag reports a go_package whose package name (after its
// ';') is not a Go identifier, which the generated code could not be
// compiled with, or nil.
func (c *compilation) goPackageNameDiag(pf *protoFile, goPkg string) *hcl.Diagnostic {
	rng := c.nodeRange(pf, goPackageValue(pf))
	imp := goImportPath(goPkg)
	want, wantName := c.defaultGoPackage(pf.path)
	switch i := strings.LastIndexByte(goPkg, ';'); {
	case module.CheckImportPath(imp) != nil:
		err := module.CheckImportPath(imp)
		var invalid *module.InvalidPathError
		if errors.As(err, &invalid) {
			err = invalid.Err
		}
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "go_package is not a Go import path",
			Detail: fmt.Sprintf("%q is where the generated code is imported from, and Go cannot import it: %v. Write\n    option go_package = \"%s;%s\";\nor leave go_package out to get that path.",
				imp, err, want, wantName),
			Subject: &rng,
		}
	case imp == c.in.Module:
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "go_package is the app's own directory",
			Detail: fmt.Sprintf("%q is the app's module itself, so the generated code would be written into the app's directory, beside its own Go files, as another package. Give it a directory of its own: write\n    option go_package = \"%s;%s\";\nor leave go_package out to get that path.",
				imp, want, wantName),
			Subject: &rng,
		}
	case i >= 0 && goPkg[i+1:] == "main":
		name := goName(path.Base(imp))
		if imp == want {
			name = wantName
		}
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "go_package names the generated package main",
			Detail: fmt.Sprintf("Generated code is a package that guests import, and Go cannot import a package main. Write\n    option go_package = \"%s;%s\";\nor leave out the ';' and the name to get one from the path.",
				imp, name),
			Subject: &rng,
		}
	case i < 0 || goPkg[i+1:] == "" || token.IsIdentifier(goPkg[i+1:]):
		return nil
	}
	i := strings.LastIndexByte(goPkg, ';')
	name := goName(goPkg[i+1:])
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "go_package names a Go package that Go cannot name",
		Detail: fmt.Sprintf("%q, after the ';', is the generated code's package name, and must be a Go identifier (letters, digits, underscores). Write\n    option go_package = \"%s;%s\";\nor leave out the ';' and the name to get one from the path.",
			goPkg[i+1:], goPkg[:i], name),
		Subject: &rng,
	}
}

// goPackageOf is the Go package of a file generated here: its import path,
// and the name its code is generated with, as protoc-gen-go names it.
func (c *compilation) goPackageOf(pf *protoFile) (importPath, name string) {
	goPkg := pf.fdp.GetOptions().GetGoPackage()
	if goPkg == "" {
		return c.defaultGoPackage(pf.path)
	}
	importPath = goImportPath(goPkg)
	if i := strings.LastIndexByte(goPkg, ';'); i >= 0 && goPkg[i+1:] != "" {
		return importPath, goPkg[i+1:]
	}
	return importPath, goName(path.Base(importPath))
}

// goPackageNamesDiag reports pf when its Go package is first's and it
// names that package otherwise: one Go package has one name, and
// protoc-gen-go would refuse the two without saying where. nil when the
// names agree.
func (c *compilation) goPackageNamesDiag(first, pf *protoFile) *hcl.Diagnostic {
	imp, firstName := c.goPackageOf(first)
	_, name := c.goPackageOf(pf)
	if name == firstName {
		return nil
	}
	at := goPackageValue(pf)
	if at == nil {
		at = packageStatement(pf)
	}
	rng := c.nodeRange(pf, at)
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Go package named two ways",
		Detail: fmt.Sprintf("This file's Go code goes into the Go package %q with the name %s, and %s's into the same package with the name %s; a Go package has one name. Write\n    option go_package = \"%s;%s\";\nhere, as %s has it, or give the two files Go packages of their own.",
			imp, name, c.display(first.root, first.path), firstName, imp, firstName, c.display(first.root, first.path)),
		Subject: &rng,
	}
}

// packageStatement is the package statement in a file's syntax tree, or
// nil.
func packageStatement(pf *protoFile) ast.Node {
	if pf.res == nil || pf.res.AST() == nil {
		return nil
	}
	for _, d := range pf.res.AST().Decls {
		if p, ok := d.(*ast.PackageNode); ok {
			return p
		}
	}
	return nil
}

// goPackageValue is the value of a file's go_package option in its
// syntax tree, or nil.
func goPackageValue(pf *protoFile) ast.Node {
	var node ast.Node
	if pf.res != nil && pf.res.AST() != nil {
		pf.res.AST().RangeOptions(func(opt *ast.OptionNode) bool {
			if opt.Name != nil && len(opt.Name.Parts) == 1 && opt.Name.Parts[0].Open == nil &&
				opt.Name.Parts[0].Name.AsIdentifier() == "go_package" {
				node = opt.Val
				return false
			}
			return true
		})
	}
	return node
}

// problemDiag positions a generator problem in the proto source.
func (c *compilation) problemDiag(p problem) *hcl.Diagnostic {
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: p.summary, Detail: p.detail}
	pf := c.files[p.file]
	if pf == nil {
		return d
	}
	var node ast.Node
	if pf.res != nil && p.message != "" {
		rel := strings.TrimPrefix(p.message, pf.fdp.GetPackage()+".")
		if n := messageName(pf.res.AST(), strings.Split(rel, ".")); n != nil {
			node = n
		}
	}
	if pf.res != nil && p.message == "" {
		if n := serviceNode(pf.res.AST(), p.service, p.method, p.stream); n != nil {
			node = n
		}
	}
	rng := c.nodeRange(pf, node)
	d.Subject = &rng
	return d
}

// messageName finds the name of the message at path (its name and those of
// the messages it is nested in, outermost first) in a file's syntax tree.
func messageName(file *ast.FileNode, path []string) ast.Node {
	if file == nil {
		return nil
	}
	var find func(decls []ast.MessageElement, path []string) ast.Node
	find = func(decls []ast.MessageElement, path []string) ast.Node {
		for _, d := range decls {
			if m, ok := d.(*ast.MessageNode); ok && m.Name.Val == path[0] {
				if len(path) == 1 {
					return m.Name
				}
				return find(m.Decls, path[1:])
			}
		}
		return nil
	}
	for _, d := range file.Decls {
		if m, ok := d.(*ast.MessageNode); ok && m.Name.Val == path[0] {
			if len(path) == 1 {
				return m.Name
			}
			return find(m.Decls, path[1:])
		}
	}
	return nil
}

// serviceNode finds, in a file's syntax tree, the name of the service
// named service or, when method is not empty, the name of that method in
// it; for a streaming method (stream), its stream keyword. It walks the
// tree rather than asking the compiled result for a descriptor's node:
// the result has no node for a descriptor its option interpretation
// replaced, as it does in a file that imports an options extension.
func serviceNode(file *ast.FileNode, service, method string, stream bool) ast.Node {
	if file == nil {
		return nil
	}
	for _, d := range file.Decls {
		sn, ok := d.(*ast.ServiceNode)
		if !ok || sn.Name.Val != service {
			continue
		}
		if method == "" {
			return sn.Name
		}
		for _, e := range sn.Decls {
			rpc, ok := e.(*ast.RPCNode)
			if !ok || rpc.Name.Val != method {
				continue
			}
			switch {
			case stream && rpc.Input != nil && rpc.Input.Stream != nil:
				return rpc.Input.Stream
			case stream && rpc.Output != nil && rpc.Output.Stream != nil:
				return rpc.Output.Stream
			}
			return rpc.Name
		}
		return sn.Name
	}
	return nil
}

// rangeAt returns a copy of rs[i], or nil.
func rangeAt(rs []hcl.Range, i int) *hcl.Range {
	if i < len(rs) {
		r := rs[i]
		return &r
	}
	return nil
}

// cleanRel cleans an app-relative path into slash form, "." when empty.
func cleanRel(p string) string {
	if p == "" {
		return "."
	}
	return path.Clean(filepath.ToSlash(p))
}

// goImportPath is the import path part of a go_package option.
func goImportPath(goPkg string) string {
	if i := strings.LastIndexByte(goPkg, ';'); i >= 0 {
		return goPkg[:i]
	}
	return goPkg
}

func inModule(importPath, module string) bool {
	return importPath == module || strings.HasPrefix(importPath, module+"/")
}

func isVersion(s string) bool {
	return len(s) > 1 && s[0] == 'v' && s[1] >= '0' && s[1] <= '9'
}

// goName turns s into a valid lower-case Go package name.
func goName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	n := b.String()
	if n == "" || !unicode.IsLetter(rune(n[0])) && n[0] != '_' {
		n = "_" + n
	}
	return n
}

func capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}

// providedModules returns whether a Go import path lies in the app's main
// module or in a module its go.mod requires: the Go packages of imported
// proto files that parigot does not generate must come from there. It
// returns nil when there is no go.mod to read above the app (nothing can be
// said then).
func (c *compilation) providedModules() func(importPath string) bool {
	for dir := c.in.AppDir; ; dir = filepath.Dir(dir) {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			f, err := modfile.ParseLax(filepath.Join(dir, "go.mod"), data, nil)
			if err != nil || f.Module == nil {
				return nil
			}
			mods := []string{f.Module.Mod.Path}
			for _, r := range f.Require {
				mods = append(mods, r.Mod.Path)
			}
			return func(importPath string) bool {
				for _, m := range mods {
					if importPath == m || strings.HasPrefix(importPath, m+"/") {
						return true
					}
				}
				return false
			}
		}
		if parent := filepath.Dir(dir); parent == dir {
			return nil
		}
	}
}

// unprovidedImportDiag reports an imported proto file whose Go package
// parigot does not generate (its go_package is outside the app's module)
// and that no module of the app provides, at the import that brings it in:
// without it, every guest would fail with the go command's "missing go.sum
// entry" instead.
func (c *compilation) unprovidedImportDiag(pf *protoFile, goPkg string) *hcl.Diagnostic {
	imp := goImportPath(goPkg)
	d := &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Imported proto file whose Go package cannot be found",
		Detail: fmt.Sprintf("%s has go_package %q, which is outside the app's module %s, so parigot does not generate its Go code; and no module the app's go.mod requires provides %s. Either list %s in a proto block with a go_package inside the module (or none), so that parigot generates it into the app, or add the module that holds its Go code: go get %s",
			pf.path, goPkg, c.in.Module, imp, pf.path, imp),
	}
	by := pf.importedBy
	if by == nil || by.res == nil {
		rng := hcl.Range{Filename: c.display(pf.root, pf.path), Start: hcl.Pos{Line: 1, Column: 1}, End: hcl.Pos{Line: 1, Column: 1}}
		d.Subject = &rng
		return d
	}
	rng := c.importRange(by, pf.path)
	d.Subject = &rng
	return d
}

// importRange is where pf imports the file at import path p.
func (c *compilation) importRange(pf *protoFile, p string) hcl.Range {
	var node ast.Node
	for _, decl := range pf.res.AST().Decls {
		if in, ok := decl.(*ast.ImportNode); ok && in.Name.AsString() == p {
			node = in.Name
		}
	}
	return c.nodeRange(pf, node)
}

// goImport is one proto import that makes the Go package of the app's
// proto file by import the Go package to, that of the file at dep.
type goImport struct {
	from, to string // Go import paths
	by       *protoFile
	dep      string
}

// goImportCycleDiags reports the imports between the app's proto files
// that would have their Go packages import each other in a cycle: valid
// protobuf, but code the go command refuses to build ("import cycle not
// allowed", naming generated files). protoc-gen-go imports the Go package
// of every import, used or not. Each cycle is reported
// at the import that closes it.
func (c *compilation) goImportCycleDiags() hcl.Diagnostics {
	edges := map[string][]goImport{} // a Go package -> its imports of the app's other Go packages
	var pkgs []string
	for _, p := range c.order {
		pf := c.files[p]
		if !pf.gen || pf.res == nil {
			continue
		}
		from, _ := c.goPackageOf(pf)
		if !slices.Contains(pkgs, from) {
			pkgs = append(pkgs, from)
		}
		imps := pf.file.Imports()
		for i := 0; i < imps.Len(); i++ {
			d := c.files[imps.Get(i).Path()]
			if d == nil || !d.gen {
				continue
			}
			to, _ := c.goPackageOf(d)
			if to == from || slices.ContainsFunc(edges[from], func(e goImport) bool { return e.to == to }) {
				continue
			}
			edges[from] = append(edges[from], goImport{from: from, to: to, by: pf, dep: d.path})
		}
	}
	var diags hcl.Diagnostics
	const unseen, onPath, done = 0, 1, 2
	state := map[string]int{}
	var trail []goImport
	var walk func(pkg string)
	walk = func(pkg string) {
		state[pkg] = onPath
		for _, e := range edges[pkg] {
			switch state[e.to] {
			case unseen:
				trail = append(trail, e)
				walk(e.to)
				trail = trail[:len(trail)-1]
			case onPath:
				start := slices.IndexFunc(trail, func(p goImport) bool { return p.from == e.to })
				diags = append(diags, c.goImportCycleDiag(append(slices.Clone(trail[start:]), e)))
			}
		}
		state[pkg] = done
	}
	for _, p := range pkgs {
		if state[p] == unseen {
			walk(p)
		}
	}
	return diags
}

// goImportCycleDiag reports one cycle of Go package imports, at the proto
// import that closes it (cycle's last).
func (c *compilation) goImportCycleDiag(cycle []goImport) *hcl.Diagnostic {
	var steps []string
	for _, e := range cycle {
		steps = append(steps, fmt.Sprintf("  %s imports %s (%s imports %s)", e.from, e.to, e.by.path, e.dep))
	}
	last := cycle[len(cycle)-1]
	rng := c.importRange(last.by, last.dep)
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Proto imports that make a Go import cycle",
		Detail: fmt.Sprintf("The Go code of these protos would import itself in a cycle, which Go does not allow:\n%s\nMove the messages the packages share into a proto file of their own, with a go_package of its own, and import that; or give the files of the cycle one go_package.",
			strings.Join(steps, "\n")),
		Subject: &rng,
	}
}
