package codegen

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"text/template"

	"github.com/hashicorp/hcl/v2"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"parigot.dev/parigot/templates"
)

// errorsSuffix ends the name of the file holding a proto file's typed
// errors.
const errorsSuffix = "_parigot_errors.pb.go"

// errorCodeOption is the field number of the (parigot.errors.v1.code)
// message option (parigot/errors/v1/errors.proto) and its full name.
const (
	errorCodeOption     = 51270
	errorCodeOptionName = "parigot.errors.v1.code"
)

// codeConsts names runtime/guest's constant for each gRPC code.
var codeConsts = [...]string{
	"", "CodeCanceled", "CodeUnknown", "CodeInvalidArgument", "CodeDeadlineExceeded", "CodeNotFound",
	"CodeAlreadyExists", "CodePermissionDenied", "CodeResourceExhausted", "CodeFailedPrecondition",
	"CodeAborted", "CodeOutOfRange", "CodeUnimplemented", "CodeInternal", "CodeUnavailable",
	"CodeDataLoss", "CodeUnauthenticated",
}

// errorCode returns the code a message declares with the
// (parigot.errors.v1.code) option, and whether it declares one. The option
// is read whether or not its extension is known to this process: a known
// one is a field of the options, an unknown one stays in their raw bytes.
func errorCode(m *protogen.Message) (int32, bool) {
	opts := m.Desc.Options()
	if opts == nil {
		return 0, false
	}
	r := opts.ProtoReflect()
	var code int64
	found := false
	r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.IsExtension() && fd.Number() == errorCodeOption && fd.FullName() == errorCodeOptionName {
			code, found = int64(v.Enum()), true
			return false
		}
		return true
	})
	for b := r.GetUnknown(); !found && len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			break
		}
		b = b[n:]
		if num == errorCodeOption && typ == protowire.VarintType {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				break
			}
			code, found = int64(v), true
			break
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			break
		}
		b = b[n:]
	}
	return int32(code), found
}

// errorFuncs are the names of the functions generated for a typed error
// (templates/errors.go.tmpl), each with %s for the Go name of its message.
var errorFuncs = []string{"New%sError", "Is%s", "As%s"}

// untypedMessage is a message of an app's proto that declares no error
// code: Go code that uses it as a typed error finds none of the functions
// errorFuncs names.
type untypedMessage struct {
	goImportPath  string    // its Go package
	goName        string    // its Go name
	fullName      string    // its proto name
	file          string    // the proto file that declares it, by import path
	importsErrors bool      // whether that file imports the option's file
	rng           hcl.Range // where it is declared (see placed)
}

// errorsProto is the file that declares the (parigot.errors.v1.code)
// option.
const errorsProto = "parigot/errors/v1/errors.proto"

// untypedMessages returns f's messages that declare no error code, nested
// ones included.
func untypedMessages(f *protogen.File) []untypedMessage {
	imports := false
	for i := range f.Desc.Imports().Len() {
		imports = imports || f.Desc.Imports().Get(i).Path() == errorsProto
	}
	var out []untypedMessage
	var walk func([]*protogen.Message)
	walk = func(ms []*protogen.Message) {
		for _, m := range ms {
			if _, ok := errorCode(m); !ok && !m.Desc.IsMapEntry() {
				out = append(out, untypedMessage{goImportPath: string(f.GoImportPath), goName: m.GoIdent.GoName,
					fullName: string(m.Desc.FullName()), file: f.Desc.Path(), importsErrors: imports})
			}
			walk(m.Messages)
		}
	}
	walk(f.Messages)
	return out
}

// TypedErrorHint says what to do when the Go compiler finds no name in
// the package importPath, one generated from the app's protos, for code
// that names it there ("undefined: ordersv1.NewOutOfStockError"): when
// name is a function of a typed error (New<X>Error, Is<X>, As<X>) and X a
// message of the package that declares no error code, a warning at the
// message with the option that makes it a typed error; nil otherwise.
// The warning speaks of the message, not of name: the three names of one
// message have one warning. Result.Sources holds the file it points into.
func (r *Result) TypedErrorHint(importPath, name string) *hcl.Diagnostic {
	for _, m := range r.untyped {
		if m.goImportPath != importPath || !slices.ContainsFunc(errorFuncs, func(f string) bool { return fmt.Sprintf(f, m.goName) == name }) {
			continue
		}
		funcs := make([]string, len(errorFuncs))
		for i, f := range errorFuncs {
			funcs[i] = fmt.Sprintf(f, m.goName)
		}
		imp := ""
		if !m.importsErrors {
			imp = fmt.Sprintf(", import %q in its file,", errorsProto)
		}
		rng := m.rng
		return &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  fmt.Sprintf("%s is not a typed error", m.fullName),
			Detail: fmt.Sprintf("It declares no error code, so %s, %s and %s are not generated, and the code above that uses them does not compile. To make it a typed error, add\n    option (%s) = %s;\nto the message (with the code that fits, see docs/GUEST_API.md)%s and build again.",
				funcs[0], funcs[1], funcs[2], errorCodeOptionName, likelyCode(m.goName), imp),
			Subject: &rng,
		}
	}
	return nil
}

// likelyCode is the error code a message named goName most likely
// declares: the one its name spells (BookNotFound: NOT_FOUND), or
// FAILED_PRECONDITION.
func likelyCode(goName string) string {
	best, spelt := int32(9), "" // FAILED_PRECONDITION
	for code, c := range codeConsts {
		if c = strings.TrimPrefix(c, "Code"); c != "" && strings.Contains(goName, c) && len(c) > len(spelt) {
			best, spelt = int32(code), c
		}
	}
	return codeName(best)
}

// errorMessages returns f's messages that declare an error code, nested
// ones included.
func errorMessages(f *protogen.File) []*protogen.Message {
	var out []*protogen.Message
	var walk func([]*protogen.Message)
	walk = func(ms []*protogen.Message) {
		for _, m := range ms {
			if _, ok := errorCode(m); ok {
				out = append(out, m)
			}
			walk(m.Messages)
		}
	}
	walk(f.Messages)
	return out
}

// checkErrors reports error messages parigot cannot generate for: a code
// that is not an error code, and generated names that clash with the Go
// names of the package's messages and enums.
func checkErrors(gen *protogen.Plugin, f *protogen.File, errs []*protogen.Message) []problem {
	var ps []problem
	taken := goNamesOf(gen, f)
	for _, m := range errs {
		code, _ := errorCode(m)
		if code <= 0 || int(code) >= len(codeConsts) {
			ps = append(ps, problem{
				file: f.Desc.Path(), message: string(m.Desc.FullName()),
				summary: "Error message with a code that is not an error",
				detail: fmt.Sprintf("%s declares (parigot.errors.v1.code) = %d; an error needs one of the codes from CANCELLED (1) to UNAUTHENTICATED (16), such as FAILED_PRECONDITION or NOT_FOUND.",
					m.Desc.FullName(), code),
			})
			continue
		}
		for _, id := range errorFuncs {
			id = fmt.Sprintf(id, m.GoIdent.GoName)
			if el, ok := taken[id]; ok {
				ps = append(ps, problem{
					file: f.Desc.Path(), message: string(m.Desc.FullName()),
					summary: "Error message name clashes with a generated Go name",
					detail: fmt.Sprintf("The typed error %s declares %s, which is already the Go name of %s; rename one of them.",
						m.Desc.FullName(), id, el),
				})
			}
			taken[id] = string(m.Desc.FullName())
		}
	}
	return ps
}

// The data the errors template executes with.
type (
	errorsFile struct {
		Source  string
		Package string
		Errors  []typedError
	}
	typedError struct {
		GoName, FullName string
		Code             string // the code's name, as in the .proto: FAILED_PRECONDITION
		CodeConst        string // runtime/guest's constant: CodeFailedPrecondition
		Comment          []string
	}
)

// generateErrors writes the typed errors of f's error messages.
func generateErrors(gen *protogen.Plugin, f *protogen.File, errs []*protogen.Message) error {
	g := gen.NewGeneratedFile(f.GeneratedFilenamePrefix+errorsSuffix, f.GoImportPath)
	data := errorsFile{Source: f.Desc.Path(), Package: string(f.GoPackageName)}
	for _, m := range errs {
		code, _ := errorCode(m)
		comment := commentLines(m.Comments.Leading)
		if len(comment) > 0 {
			comment = append([]string{"//"}, comment...)
		}
		data.Errors = append(data.Errors, typedError{
			GoName:    m.GoIdent.GoName,
			FullName:  string(m.Desc.FullName()),
			Code:      codeName(code),
			CodeConst: codeConsts[code],
			Comment:   comment,
		})
	}
	t, err := templates.Parse(template.FuncMap{
		"guest": func(name string) string { return g.QualifiedGoIdent(guestPackage.Ident(name)) },
	}, templates.Errors)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return fmt.Errorf("parigot code from %s for %s: %w", templates.Errors, f.Desc.Path(), err)
	}
	_, err = g.Write(buf.Bytes())
	return err
}

// codeName is the .proto name of code: FAILED_PRECONDITION for 9.
func codeName(code int32) string {
	c := strings.TrimPrefix(codeConsts[code], "Code")
	var b strings.Builder
	for i, r := range c {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// placed is ms, each with where it is declared.
func (c *compilation) placed(ms []untypedMessage) []untypedMessage {
	for i, m := range ms {
		pf := c.files[m.file]
		if pf == nil || pf.res == nil {
			continue
		}
		rel := strings.TrimPrefix(m.fullName, pf.fdp.GetPackage()+".")
		ms[i].rng = c.declRange(pf, messageName(pf.res.AST(), strings.Split(rel, ".")))
	}
	return ms
}
