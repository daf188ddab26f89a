package codegen

import (
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// unknownType matches the compiler's error for a type name it cannot
// resolve, in a field ("field a.M.f: unknown type X") or a method
// ("method a.S.M: unknown request type X", "... unknown response type
// X"): its groups are what is named (field a.M.f), the kind of type
// ("", "request", "response") and the name.
var unknownType = regexp.MustCompile(`^(\S+ \S+): unknown (?:(request|response) )?type ([\w.]+)`)

// scalarWrappers names, for each scalar type a method might be written
// with, the well-known message wrapping one such value, or "" when there
// is none.
var scalarWrappers = map[string]string{
	"double": "DoubleValue", "float": "FloatValue", "int64": "Int64Value", "uint64": "UInt64Value",
	"int32": "Int32Value", "uint32": "UInt32Value", "bool": "BoolValue", "string": "StringValue", "bytes": "BytesValue",
	"sint32": "", "sint64": "", "fixed32": "", "fixed64": "", "sfixed32": "", "sfixed64": "",
}

// unknownTypeError says what to do about a type the compiler could not
// resolve, when parigot knows better than "check the spelling": a scalar
// as a method's request or reply, which must be a message, or a type of
// a file the app may import without listing it (a well-known type, say)
// that the file does not import. ok is false otherwise.
func unknownTypeError(msg string) (summary, detail string, ok bool) {
	m := unknownType.FindStringSubmatch(msg)
	if m == nil {
		return "", "", false
	}
	what, kind, name := m[1], m[2], m[3]
	if wrapper, scalar := scalarWrappers[name]; scalar && kind != "" {
		reply := map[string]string{"request": "request", "response": "reply"}[kind]
		method := what[strings.LastIndexByte(what, '.')+1:]
		detail = fmt.Sprintf("A method's request and reply are messages, not scalar types such as %s. Wrap the value in a message of the app's own, for example\n    message %s%s { %s value = 1; }", name, method, map[string]string{"request": "Request", "response": "Response"}[kind], name)
		if wrapper != "" {
			detail += fmt.Sprintf("\nor use the well-known type google.protobuf.%s, importing its file:\n    import \"google/protobuf/wrappers.proto\";", wrapper)
		}
		return capitalize(fmt.Sprintf("%s: the %s type %s is not a message", what, reply, name)), detail, true
	}
	file := importableFileOf(protoreflect.FullName(strings.TrimPrefix(name, ".")))
	if file == "" {
		return "", "", false
	}
	return capitalize(msg), fmt.Sprintf("%s is declared in %s, which this file does not import. Import it, near the top of the file:\n    import %q;", strings.TrimPrefix(name, "."), file, file), true
}

// importableFileOf is the import path of the file that declares name
// among those an app may import without listing them (the well-known
// types, google/api's HTTP annotations), or "".
func importableFileOf(name protoreflect.FullName) string {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if err != nil {
		return ""
	}
	p := d.ParentFile().Path()
	if googleAPI[p] != nil {
		return p
	}
	std := protocompile.WithStandardImports(protocompile.ResolverFunc(func(string) (protocompile.SearchResult, error) {
		return protocompile.SearchResult{}, fs.ErrNotExist
	}))
	if _, err := std.FindFileByPath(p); err != nil {
		return ""
	}
	return p
}
