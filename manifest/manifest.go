package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"parigot.dev/parigot/internal/diag"
)

const (
	// DefaultMemoryLimit is a guest's memory_limit when none is given.
	DefaultMemoryLimit = 256 << 20

	// What on_overrun and restart may say.
	OverrunStop      = "stop"
	OverrunReport    = "report"
	RestartNever     = "never"
	RestartOnFailure = "on-failure"

	// DefaultMethodTimeout is a service's method_timeout when none is given.
	DefaultMethodTimeout = 50 * time.Millisecond
	// MinMethodTimeout and MaxMethodTimeout bound method_timeout: a shorter
	// budget is below what a deadline can be held to, and a method needing
	// longer than an hour should return an Id that its caller polls.
	MinMethodTimeout = time.Millisecond
	MaxMethodTimeout = time.Hour

	// DefaultHTTPTimeout is an http block's timeout when none is given:
	// how long a request to it may take, sent outside any method (inside
	// one, the method's deadline ends it sooner). MinHTTPTimeout and
	// MaxHTTPTimeout bound timeout, as method_timeout's bounds do.
	DefaultHTTPTimeout = 30 * time.Second
	MinHTTPTimeout     = time.Millisecond
	MaxHTTPTimeout     = time.Hour

	// DefaultInboxCalls and DefaultInboxBytes bound a service's inbox when
	// its inbox_calls and inbox_bytes are not given: the most calls, and
	// the most request bytes, that may wait in it. A call that would go over
	// either fails at once with "resource exhausted".
	DefaultInboxCalls = 1024
	DefaultInboxBytes = 64 << 20
	// MaxInboxCalls bounds inbox_calls: calls wait one after the other, so
	// past this many the last could not be answered within any budget.
	MaxInboxCalls = 1 << 16
	// MinInboxBytes and MaxInboxBytes bound inbox_bytes: at least the
	// largest request of one call (the runtime's abi.MaxPayload, 4 MiB), so
	// any one call fits, and at most 1 GiB of the host's own memory.
	MinInboxBytes = 4 << 20
	MaxInboxBytes = 1 << 30
	// FileName is the name of the manifest in an app directory.
	FileName = "parigot.hcl"

	// MaxFileSize is the largest manifest Load and Parse read. A manifest of
	// a thousand services is about 150 KB; a file past this is another
	// file or junk, which would cost seconds and hundreds of MB to parse
	// only to print errors.
	MaxFileSize = 1 << 20
)

// Kind tells a service (which answers calls) from a program (which only
// makes them).
type Kind int

// The kinds of guest.
const (
	KindService Kind = iota + 1
	KindProgram
)

// String returns the block type of the kind: "service" or "program".
func (k Kind) String() string {
	switch k {
	case KindService:
		return "service"
	case KindProgram:
		return "program"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// App is a decoded parigot.hcl.
type App struct {
	Name     string
	Module   string       // Go import path of the app's directory
	Dir      string       // absolute directory holding parigot.hcl
	File     string       // the manifest's file name as used in diagnostic ranges
	Protos   []*Proto     // declaration order
	Ids      []*IdType    // declaration order
	Services []*Guest     // declaration order
	Programs []*Guest     // declaration order
	Stores   []*Store     // declaration order
	Topics   []*Topic     // declaration order
	HTTP     []*HTTP      // declaration order
	Gateways []*Gateway   // declaration order
	Sources  diag.Sources // File -> contents, for rendering diagnostics

	NameRange   hcl.Range // the app block's label
	ModuleRange hcl.Range // the module attribute's value

	// BuildInputRanges are the values that name files only a build reads:
	// each guest's source, each proto block's root, files and buf. A run
	// of a build made elsewhere, which has none of them, leaves out their
	// diagnostics (builder.LoadBuilt).
	BuildInputRanges []hcl.Range
}

// Proto is a proto block: a set of .proto files compiled together.
type Proto struct {
	Name       string
	Root       string      // app-relative import root, cleaned, slash-separated; default "."
	Files      []string    // app-relative, as written
	FileRanges []hcl.Range // range of each entry of Files
	DeclRange  hcl.Range
	RootRange  hcl.Range // the root attribute's value; the block header when root is not given
	// Buf is the app-relative path of the buf.yaml the files come from (one
	// Proto per module of it), and BufRange its attribute's value; "" and
	// the zero range for a block that lists its files.
	Buf      string
	BufRange hcl.Range
}

// IdType is an id block: a typed Id declaration.
type IdType struct {
	Name, Letter           string
	DeclRange, LetterRange hcl.Range
	// Package is the app-relative, slash-separated directory of the Go
	// package the type is generated into, as written; empty when the block
	// has no package attribute (parigot build then uses DefaultIdPackage).
	// The Go package name is its last element.
	Package      string
	PackageRange hcl.Range // the package attribute's value; zero when not given
}

// Store is a store block: a key-value store the guests that list it in
// uses may read and write. Its values outlive the run (see docs/STATE.md).
type Store struct {
	Name     string
	Replicas int // copies on a NATS cluster: 1 to 5; default 1
	History  int // values kept per key, the latest included: 1 to 64; default 1
	// Value is the full proto name of the message the store's values are
	// ("bank.v1.Account"), as its value attribute says; empty when the
	// store does not say (its values are bytes of any shape).
	Value      string
	ValueRange hcl.Range // where Value is written; the block's DeclRange without one
	DeclRange  hcl.Range
}

// Topic is a topic block: a durable stream of messages that the guests
// listing it in uses may publish to, and whose subscriptions deliver each
// message to a service method.
type Topic struct {
	Name     string
	Replicas int // copies on a NATS cluster: 1 to 5; default 1
	// MaxAge and MaxBytes bound what the topic keeps (its dead letters
	// with it): a message older than MaxAge, or the oldest ones past
	// MaxBytes, are removed, taken by their subscribers or not. Zero: no
	// bound, the topic keeps every message.
	MaxAge    time.Duration
	MaxBytes  uint64
	DeclRange hcl.Range
}

// Subscription is a subscribe block of a service: every message of Topic
// is delivered to Method, at least once, until the method succeeds or
// MaxAttempts deliveries have failed.
type Subscription struct {
	Topic       string // the topic's name
	Method      string // "package.Service/Method", a service the guest implements
	MaxAttempts int    // deliveries before the message is dead-lettered; default DefaultMaxAttempts
	// Start is where the subscription starts when a run makes it (it has
	// none in the data yet): StartFirst, the first message the topic
	// keeps, or StartNew, the first published after it is made.
	Start       string
	DeclRange   hcl.Range
	TopicRange  hcl.Range
	MethodRange hcl.Range
}

// What a subscription's start may say.
const (
	StartFirst = "first"
	StartNew   = "new"
)

// DefaultMaxAttempts is a subscription's max_attempts when none is given.
const DefaultMaxAttempts = 5

// Use kinds: what uses entries name, as "store.<name>" or "topic.<name>"
// (and UseHTTP).
const (
	UseStore = "store"
	UseTopic = "topic"
)

// Store returns the store called name, or nil.
func (a *App) Store(name string) *Store {
	for _, s := range a.Stores {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Topic returns the topic called name, or nil.
func (a *App) Topic(name string) *Topic {
	for _, t := range a.Topics {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// HasState reports whether the app declares a store or a topic: only then
// does a run start JetStream.
func (a *App) HasState() bool { return len(a.Stores) > 0 || len(a.Topics) > 0 }

// DefaultIdPackage is where Id types are generated when their id block has
// no package attribute: <app>/gen/ids, Go package ids.
const DefaultIdPackage = "gen/ids"

// Guest is a service or program block.
type Guest struct {
	Name             string
	Kind             Kind
	Source           string          // as written, e.g. "./greeting"
	Dir              string          // absolute directory of Source
	Implements       []string        // full proto service names; services only
	ImplementsRanges []hcl.Range     // range of each entry of Implements
	Requires         []string        // names of required services
	RequiresRanges   []hcl.Range     // range of each entry of Requires
	MethodTimeout    time.Duration   // services; DefaultMethodTimeout for programs
	Replicas         int             // services; 1 for programs
	OnOverrun        string          // services: OverrunStop (default) or OverrunReport
	Restart          string          // services: RestartNever (default) or RestartOnFailure
	MemoryLimit      uint64          // bytes of memory the guest may use; DefaultMemoryLimit when not given
	InboxCalls       int             // services: the most calls that may wait in its inbox; 0 when not given (DefaultInboxCalls applies)
	InboxBytes       uint64          // services: the most request bytes that may wait in its inbox; 0 when not given (DefaultInboxBytes applies)
	Uses             []string        // the stores, topics and http endpoints it may use, as "store.<name>", "topic.<name>" and "http.<name>"
	UsesRanges       []hcl.Range     // range of each entry of Uses
	Subscriptions    []*Subscription // services: the topics whose messages its methods receive
	Env              []EnvVar        // variables its environment holds, as parigot.hcl gives them
	PassEnv          []string        // variables it takes from the environment of the command that runs it
	PassEnvRanges    []hcl.Range     // range of each entry of PassEnv
	PassEnvOptional  []string        // variables it takes from that environment when they are set there
	DeclRange        hcl.Range       // the block header, e.g. service "greeting"
	NameRange        hcl.Range       // the block label
	SourceRange      hcl.Range       // the source attribute's value
}

// Load reads path (a parigot.hcl file, or a directory containing one). Range
// file names are the path as given (joined with "parigot.hcl" for a
// directory), so diagnostics show e.g. examples/helloworld/parigot.hcl:12,3-10.
//
// The returned App is never nil. When the diagnostics hold errors it is only
// partly filled in, but its Sources are set so the diagnostics can be
// rendered. A manifest that cannot be read is reported without a Subject,
// since there is no source to point at, naming the absolute path looked at.
func Load(path string) (*App, hcl.Diagnostics) {
	filename := path
	fi, statErr := os.Stat(path)
	isDir := statErr == nil && fi.IsDir() ||
		errors.Is(statErr, fs.ErrNotExist) && filepath.Ext(path) != ".hcl"
	if isDir {
		filename = filepath.Join(path, FileName)
	}
	dir := filepath.Dir(filename)
	src, err := readLimited(filename)
	if err != nil {
		a := &App{File: filename, Dir: absDir(dir), Sources: diag.Sources{}}
		return a, hcl.Diagnostics{unreadable(path, filename, isDir, statErr, err)}
	}
	return Parse(filename, src, dir)
}

// unreadable describes why the manifest at filename (found from path, a
// directory when isDir) cannot be read, and what to do.
func unreadable(path, filename string, isDir bool, statErr, err error) *hcl.Diagnostic {
	reason := err
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		reason = pathErr.Err // the path is said absolutely below
	}
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read manifest",
		Detail: fmt.Sprintf("Reading %s failed: %v.", absPath(filename), reason)}
	switch {
	case isDir && errors.Is(statErr, fs.ErrNotExist):
		d.Summary = "App directory not found"
		d.Detail = fmt.Sprintf("There is no directory %s. Give the directory of an app (the one holding its %s), or create an app there with parigot init %s.",
			absPath(path), FileName, path)
	case errors.Is(statErr, fs.ErrNotExist):
		d.Summary = "Manifest not found"
		d.Detail = fmt.Sprintf("There is no file %s. Give the app's manifest file, or the directory holding its %s.", absPath(path), FileName)
	case errors.Is(err, fs.ErrNotExist):
		d.Summary = "Not an app directory"
		d.Detail = fmt.Sprintf("There is no %s in %s. Run parigot in an app directory, give the app's directory or its %s, or create an app with parigot init.",
			FileName, absPath(filepath.Dir(filename)), FileName)
	}
	return d
}

// Parse decodes src (named filename in diagnostics); dir is the app directory
// used to resolve and check sources and proto files.
//
// As with Load, the returned App is never nil and has its Sources set.
func Parse(filename string, src []byte, dir string) (*App, hcl.Diagnostics) {
	a := &App{File: filename, Dir: absDir(dir), Sources: diag.Sources{}}
	a.Sources.Add(filename, src)
	if len(src) > MaxFileSize {
		return a, hcl.Diagnostics{errAt(fileStart(filename), "Manifest too large",
			fmt.Sprintf("%s holds more than %d MiB, more than any manifest: one with a thousand services takes about 150 KB. Check that it is the app's %s and not another file.",
				filename, MaxFileSize>>20, FileName))}
	}
	if d := diag.NotText(filename, src); d != nil {
		return a, hcl.Diagnostics{d}
	}
	if bytes.IndexByte(src, '\r') >= 0 && bytes.IndexByte(src, '\n') < 0 {
		// HCL ends lines at "\n": the whole file would read as one line.
		return a, hcl.Diagnostics{errAt(fileStart(filename), "Lines end in carriage returns alone",
			fmt.Sprintf("%s ends its lines with CR, as old Mac editors did, and HCL reads it as one line. Save it with LF (or CRLF) line endings.", filename))}
	}
	toks, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	if d := tooDeep(toks); d != nil {
		return a, hcl.Diagnostics{d}
	}
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	diags = unclosedString(unclosedHeredocOrComment(toks, diags))
	sayPositions(diags)
	unclosedList(toks, diags)
	advise(diags)
	if diags.HasErrors() || f == nil {
		// Decoding a body with syntax errors only adds confusing follow-ups.
		return a, diags
	}
	d := newDecoder(a)
	d.diags = diags // warnings, if any
	d.decodeFile(f.Body)
	advise(d.diags)
	return a, d.diags
}

// Guest returns the service or program called name, or nil if there is none.
func (a *App) Guest(name string) *Guest {
	for _, g := range a.Services {
		if g.Name == name {
			return g
		}
	}
	for _, g := range a.Programs {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// Guests returns the services then the programs, each in declaration order.
func (a *App) Guests() []*Guest {
	out := make([]*Guest, 0, len(a.Services)+len(a.Programs))
	out = append(out, a.Services...)
	return append(out, a.Programs...)
}

// StartOrder returns the services, each after the services it requires, then
// the programs. Apart from that constraint guests keep their declaration
// order: of the services that may start next, the first declared goes first.
// Requires entries that name no service are ignored, and should the services
// form a cycle (which Parse reports), the first declared service of the cycle
// starts first.
func (a *App) StartOrder() []*Guest {
	index := make(map[string]int, len(a.Services))
	for i, s := range a.Services {
		if _, dup := index[s.Name]; !dup {
			index[s.Name] = i
		}
	}
	placed := make([]bool, len(a.Services))
	out := make([]*Guest, 0, len(a.Services)+len(a.Programs))
	ready := func(i int) bool {
		for _, r := range a.Services[i].Requires {
			if j, ok := index[r]; ok && j != i && !placed[j] {
				return false
			}
		}
		return true
	}
	for len(out) < len(a.Services) {
		next := -1
		for i := range a.Services {
			if !placed[i] && ready(i) {
				next = i
				break
			}
		}
		if next < 0 { // a cycle: break it at its first declared service
			for i := range a.Services {
				if !placed[i] {
					next = i
					break
				}
			}
		}
		placed[next] = true
		out = append(out, a.Services[next])
	}
	return append(out, a.Programs...)
}

// readLimited reads a file, but no more than one byte past MaxFileSize, so
// that a huge file (or a device that never ends) is refused at once.
func readLimited(filename string) ([]byte, error) {
	f, err := os.Open(filename)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxFileSize+1))
}

func absDir(dir string) string {
	if dir == "" {
		dir = "."
	}
	return absPath(dir)
}

// absPath returns p absolute (as it is, should the working directory be
// unknown), for messages that must not depend on where parigot was run.
func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

func fileStart(filename string) hcl.Range {
	p := hcl.Pos{Line: 1, Column: 1}
	return hcl.Range{Filename: filename, Start: p, End: p}
}

func errAt(rng hcl.Range, summary, detail string) *hcl.Diagnostic {
	return diag.Errorf(rng, summary, detail)
}

// hclRange is a range as HCL writes one into its details ("parigot.hcl:20,3-9"
// or "parigot.hcl:20,3-21,1").
var hclRange = regexp.MustCompile(`(\S+):(\d+),(\d+)-\d+(?:,\d+)?`)

// unclosedString turns the flood of errors that one missing closing quote
// causes into one error where the quote is missing. Without it, the quotes
// that follow pair up the wrong way and HCL reports each line break that
// ends up inside a string ("Invalid multi-line string"), a dozen errors for
// one mistake, and the real one ("Unterminated template string") last.
// Errors before the first such line break are kept; those after it are
// follow-ups of it and are dropped, and so is the string's own when an
// error earlier on its line explains it.
func unclosedString(diags hcl.Diagnostics) hcl.Diagnostics {
	var first *hcl.Diagnostic
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Subject != nil && (d.Summary == "Invalid multi-line string" || d.Summary == "Unterminated template string") {
			if first == nil || d.Subject.Start.Byte < first.Subject.Start.Byte {
				first = d
			}
		}
	}
	if first == nil {
		return diags
	}
	at := first.Subject.Start
	var kept hcl.Diagnostics
	for _, d := range diags {
		if d.Subject != nil && d.Subject.Start.Byte < at.Byte {
			kept = append(kept, d)
		}
	}
	for _, d := range kept {
		if d.Subject.Start.Line == at.Line {
			// Something earlier on the line went wrong first (a value
			// missing its opening quote, whose closing one then opened
			// a string): that is the mistake to show.
			return kept
		}
	}
	return append(kept, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unclosed string",
		Detail: fmt.Sprintf("A string on line %d has no closing quote, so what follows it is read as part of a string, and the quotes after it pair up the wrong way. "+
			"Add the closing \" where the value ends (here, at the end of the line). A string cannot go on past its line: for text of several lines, use a heredoc (<<EOT, the lines, then EOT).", at.Line),
		Subject: first.Subject,
	})
}

// sayPositions writes the ranges in HCL's own details as every position
// parigot prints is written, file:line:col.
func sayPositions(diags hcl.Diagnostics) {
	for _, d := range diags {
		d.Detail = hclRange.ReplaceAllString(d.Detail, "$1:$2:$3")
	}
}
