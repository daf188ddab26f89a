package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// A JSON body that is not its method's request was refused in
// protojson's words: `proto: syntax error (line 1:35): unexpected token
// "notalist"` for a string where a list goes, naming no field, and
// `invalid value for int32 field pageSize` for {"page_size":"ten"},
// naming the field by its JSON name, not as the client wrote it. The
// gateway says instead which field, by the names the client wrote, what
// it takes, and what it was given, from a walk of the body decoded as
// plain JSON against the message's descriptor. The walk looks at the
// kinds of JSON values (a list, an object, a string, a number, true or
// false) and at the values of numbers, booleans and bytes, where the
// mistakes are; what it finds nothing wrong with (two fields of one
// oneof, say) is left to protojson's message.

// jsonMisfit is where the JSON document body first does not fit the
// message md, and why; "" when the walk finds nothing (or body is no
// JSON). Fields are visited in the message's order.
func jsonMisfit(body []byte, md protoreflect.MessageDescriptor) string {
	v, ok := decodeJSON(body)
	if !ok {
		return ""
	}
	return misfitMessage("", md, v)
}

// jsonFieldMisfit is jsonMisfit for a document that is the value of the
// field fd (a REST rule's body: "<field>").
func jsonFieldMisfit(body []byte, fd protoreflect.FieldDescriptor) string {
	v, ok := decodeJSON(body)
	if !ok {
		return ""
	}
	return misfitField("", fd, v)
}

// decodeJSON decodes a JSON document, its numbers as they are written.
func decodeJSON(body []byte) (any, bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	return v, d.Decode(&v) == nil
}

// misfitMessage checks v, at path, against the message md.
func misfitMessage(path string, md protoreflect.MessageDescriptor, v any) string {
	if v == nil {
		return "" // null: the field is left unset
	}
	switch md.FullName() {
	case "google.protobuf.Value", "google.protobuf.Any":
		return "" // any JSON value; an Any's own checks are protojson's
	case "google.protobuf.Struct", "google.protobuf.Empty":
		if _, ok := v.(map[string]any); !ok {
			return takesNot(path, "an object ("+string(md.FullName())+")", v)
		}
		return ""
	case "google.protobuf.ListValue":
		if _, ok := v.([]any); !ok {
			return takesNot(path, "a list (google.protobuf.ListValue)", v)
		}
		return ""
	case "google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask":
		if _, ok := v.(string); !ok {
			return takesNot(path, "a string ("+string(md.FullName())+")", v)
		}
		return "" // what the string says, misfitSingular checks
	case "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
		"google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
		"google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue":
		return misfitSingular(path, md.Fields().ByName("value"), v) // as the value it wraps
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return takesNot(path, "an object ("+string(md.FullName())+")", v)
	}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		// A field is named by its JSON name or its proto name, as
		// protojson reads it.
		for _, name := range []string{fd.JSONName(), string(fd.Name())} {
			if fv, ok := obj[name]; ok {
				if why := misfitField(joinPath(path, name), fd, fv); why != "" {
					return why
				}
				break
			}
		}
	}
	return ""
}

// misfitField checks v, at path, against the field fd: a list, a map, or
// one value.
func misfitField(path string, fd protoreflect.FieldDescriptor, v any) string {
	if v == nil {
		return ""
	}
	switch {
	case fd.IsList():
		list, ok := v.([]any)
		if !ok {
			return takesNot(path, "a list (repeated "+typeName(fd)+")", v)
		}
		for i, e := range list {
			if why := misfitSingular(fmt.Sprintf("%s[%d]", path, i), fd, e); why != "" {
				return why
			}
		}
		return ""
	case fd.IsMap():
		obj, ok := v.(map[string]any)
		if !ok {
			return takesNot(path, fmt.Sprintf("an object (map<%s, %s>)", typeName(fd.MapKey()), typeName(fd.MapValue())), v)
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if why := misfitSingular(fmt.Sprintf("%s[%q]", path, k), fd.MapValue(), obj[k]); why != "" {
				return why
			}
		}
		return ""
	}
	return misfitSingular(path, fd, v)
}

// misfitSingular checks v, at path, against one value of fd's type.
func misfitSingular(path string, fd protoreflect.FieldDescriptor, v any) string {
	if v == nil {
		return ""
	}
	if md := fd.Message(); md != nil {
		if why := misfitMessage(path, md, v); why != "" {
			return why
		}
		// A timestamp or a duration: a string, which must say one.
		if s, ok := v.(string); ok && (md.FullName() == "google.protobuf.Timestamp" || md.FullName() == "google.protobuf.Duration") && !wktFits(fd, strconv.Quote(s)) {
			return fieldSays(path, notA(fd, s))
		}
		return ""
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		if _, ok := v.(string); !ok {
			return takesNot(path, "a string", v)
		}
	case protoreflect.BytesKind:
		s, ok := v.(string)
		if !ok {
			return takesNot(path, "a string of base64 (bytes)", v)
		}
		if !scalarFits(fd, s) {
			return fieldSays(path, notA(fd, s))
		}
	case protoreflect.BoolKind:
		if _, ok := v.(bool); !ok {
			return takesNot(path, "true or false (bool)", v)
		}
	case protoreflect.EnumKind:
		// A name it does not have is left out, as Connect's servers
		// leave unknown fields out.
		switch n := v.(type) {
		case string:
		case json.Number:
			if !scalarFits(fd, n.String()) {
				return fieldSays(path, notAShown(fd, n.String(), n.String()))
			}
		default:
			return takesNot(path, "a value's name or number ("+string(fd.Enum().FullName())+")", v)
		}
	default: // the numbers: a number, or a string holding one
		switch n := v.(type) {
		case json.Number:
			if !scalarFits(fd, n.String()) {
				return fieldSays(path, notAShown(fd, n.String(), n.String()))
			}
		case string:
			if !scalarFits(fd, n) {
				return fieldSays(path, notA(fd, n))
			}
		default:
			return takesNot(path, "a number ("+fd.Kind().String()+")", v)
		}
	}
	return ""
}

// takesNot says that the value v at path is not of the kind fd takes.
func takesNot(path, takes string, v any) string {
	return fmt.Sprintf("%s takes %s, not %s", subject(path), takes, jsonKind(v))
}

// fieldSays puts why (what is wrong with a value) at path.
func fieldSays(path, why string) string { return subject(path) + ": " + why }

// subject names path for a client: the field, by the names it wrote, or
// the body itself.
func subject(path string) string {
	if path == "" {
		return "the body"
	}
	return fmt.Sprintf("field %q", path)
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// jsonKind says what the JSON value v is, with the value when it is short.
func jsonKind(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			x = x[:40] + "..."
		}
		return "a string (" + strconv.Quote(x) + ")"
	case json.Number:
		return "a number (" + x.String() + ")"
	case bool:
		return fmt.Sprintf("a boolean (%t)", x)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "null"
}

// typeName is the name of fd's type as a proto file writes it: string,
// int32, bookmarks.v1.Bookmark.
func typeName(fd protoreflect.FieldDescriptor) string {
	switch {
	case fd.Message() != nil:
		return string(fd.Message().FullName())
	case fd.Enum() != nil:
		return string(fd.Enum().FullName())
	}
	return fd.Kind().String()
}
