package codegen

import (
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	shipped "parigot.dev/parigot/proto"
)

// ImportableSources is the .proto source of every file an app may import
// that parigot resolves itself (its own protos, and google/api's HTTP
// annotations), by import path: for tools that read only sources, such as
// buf. The google/api files are written from the descriptors parigot
// links, since their source is neither copied nor fetched (see googleAPI):
// the same declarations, without comments or options other than
// go_package.
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
	for p, fd := range googleAPI {
		out[p] = protoSource(fd)
	}
	return out, err
}

// protoSource writes the declarations of fd, a proto2 or proto3 file, as
// .proto source.
func protoSource(fd protoreflect.FileDescriptor) []byte {
	var b strings.Builder
	syntax := "proto3"
	if fd.Syntax() == protoreflect.Proto2 {
		syntax = "proto2"
	}
	fmt.Fprintf(&b, "// Written by parigot from the descriptor of %s.\nsyntax = %q;\n\npackage %s;\n\n", fd.Path(), syntax, fd.Package())
	for i := 0; i < fd.Imports().Len(); i++ {
		fmt.Fprintf(&b, "import %q;\n", fd.Imports().Get(i).Path())
	}
	if opts, ok := fd.Options().(*descriptorpb.FileOptions); ok && opts.GetGoPackage() != "" {
		fmt.Fprintf(&b, "\noption go_package = %q;\n", opts.GetGoPackage())
	}
	for i := 0; i < fd.Enums().Len(); i++ {
		writeEnum(&b, fd.Enums().Get(i), "")
	}
	for i := 0; i < fd.Messages().Len(); i++ {
		writeMessage(&b, fd.Messages().Get(i), "", syntax)
	}
	byExtendee := map[protoreflect.FullName][]protoreflect.FieldDescriptor{}
	var extendees []string
	for i := 0; i < fd.Extensions().Len(); i++ {
		x := fd.Extensions().Get(i)
		name := x.ContainingMessage().FullName()
		if byExtendee[name] == nil {
			extendees = append(extendees, string(name))
		}
		byExtendee[name] = append(byExtendee[name], x)
	}
	sort.Strings(extendees)
	for _, name := range extendees {
		fmt.Fprintf(&b, "\nextend .%s {\n", name)
		for _, x := range byExtendee[protoreflect.FullName(name)] {
			writeField(&b, x, "  ", syntax)
		}
		b.WriteString("}\n")
	}
	return []byte(b.String())
}

func writeMessage(b *strings.Builder, md protoreflect.MessageDescriptor, indent, syntax string) {
	if md.IsMapEntry() {
		return // written as the map field's type
	}
	fmt.Fprintf(b, "\n%smessage %s {\n", indent, md.Name())
	in := indent + "  "
	for i := 0; i < md.Enums().Len(); i++ {
		writeEnum(b, md.Enums().Get(i), in)
	}
	for i := 0; i < md.Messages().Len(); i++ {
		writeMessage(b, md.Messages().Get(i), in, syntax)
	}
	for i := 0; i < md.Fields().Len(); i++ {
		f := md.Fields().Get(i)
		if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
			if o.Fields().Get(0) == f { // the oneof, where its first field is
				fmt.Fprintf(b, "%soneof %s {\n", in, o.Name())
				for j := 0; j < o.Fields().Len(); j++ {
					writeField(b, o.Fields().Get(j), in+"  ", syntax)
				}
				fmt.Fprintf(b, "%s}\n", in)
			}
			continue
		}
		writeField(b, f, in, syntax)
	}
	fmt.Fprintf(b, "%s}\n", indent)
}

func writeEnum(b *strings.Builder, ed protoreflect.EnumDescriptor, indent string) {
	fmt.Fprintf(b, "\n%senum %s {\n", indent, ed.Name())
	for i := 0; i < ed.Values().Len(); i++ {
		v := ed.Values().Get(i)
		fmt.Fprintf(b, "%s  %s = %d;\n", indent, v.Name(), v.Number())
	}
	fmt.Fprintf(b, "%s}\n", indent)
}

func writeField(b *strings.Builder, f protoreflect.FieldDescriptor, indent, syntax string) {
	label := ""
	switch {
	case f.IsMap():
	case f.Cardinality() == protoreflect.Repeated:
		label = "repeated "
	case f.Cardinality() == protoreflect.Required:
		label = "required "
	case f.HasOptionalKeyword() || syntax == "proto2" && f.ContainingOneof() == nil:
		label = "optional "
	}
	fmt.Fprintf(b, "%s%s%s %s = %d;\n", indent, label, fieldType(f), f.Name(), f.Number())
}

func fieldType(f protoreflect.FieldDescriptor) string {
	if f.IsMap() {
		return fmt.Sprintf("map<%s, %s>", fieldType(f.MapKey()), fieldType(f.MapValue()))
	}
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return "." + string(f.Message().FullName())
	case protoreflect.EnumKind:
		return "." + string(f.Enum().FullName())
	}
	return f.Kind().String()
}
