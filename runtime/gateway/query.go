package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"parigot.dev/parigot/internal/suggest"
)

// A REST query sets fields of its method's request (see fieldPath for how
// a parameter names one), and vanguard sets them: each value in the form
// it takes (setParameter), a singular field to the last of its values, a
// repeated one to all of them. checkQuery stands before it for three
// things it does not do well:
//
//   - A value of the wrong type was refused in the words of the decoder
//     underneath, without the value or what it must be (?page_size=abc:
//     "invalid character 'a' looking for beginning of value").
//   - A google.protobuf.FieldMask is taken in its JSON form only, lower
//     camel case paths (?update_mask=title,readTime); its proto names
//     (title,read_time) were refused, and the refusal showed the value
//     cut off, since vanguard quotes the value into the slice that held
//     it and then prints the slice at its old length ("title,read_tim).
//   - A singular field given twice (?title=a&title=b, or ?page_size=1&
//     pageSize=2, the one field by two names) kept one value, the last
//     by chance, and dropped the other without a word.
//
// Whether a value fits is decided as vanguard decides it (the same
// decoders, with the same inputs), so that the gateway refuses nothing
// vanguard would take, and only says better what it refuses; names that
// are no field are refused with the nearest that is (noField).

// noField says why the query parameter key names no field of input:
// chain is how far fieldPath resolved it. It names the field the client
// most likely meant, and where to find them all.
func noField(input protoreflect.MessageDescriptor, key string, chain []protoreflect.FieldDescriptor) string {
	if n := len(chain); n > 0 {
		if last := chain[n-1]; last.IsList() || last.IsMap() || last.Message() == nil {
			kind := last.Kind().String()
			switch {
			case last.IsMap():
				kind = "a map"
			case last.IsList():
				kind = "repeated"
			}
			return fmt.Sprintf("query parameter %q: field %s is %s, which holds no fields to name after it", key, protoPath(chain), kind)
		}
		input = chain[n-1].Message()
	}
	elem := strings.Split(key, ".")[len(chain)]
	fields := input.Fields()
	names := make([]string, 0, fields.Len())
	for i := range fields.Len() {
		names = append(names, string(fields.Get(i).Name()))
	}
	msg := fmt.Sprintf("query parameter %q names no field: %s has no field %q", key, input.FullName(), elem)
	if c := suggest.Closest(elem, names); c != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", c)
	}
	switch {
	case len(names) == 0:
		return msg + ": it has no fields, so the query names none"
	case len(names) <= 12:
		return msg + "; its fields are " + strings.Join(names, ", ")
	}
	return msg
}

// checkQuery checks the query q of a REST call of input's method, and
// rewrites the field masks it holds into their JSON form (changed). It
// returns why q is refused, or "".
func checkQuery(input protoreflect.MessageDescriptor, q url.Values) (refusal string, changed bool) {
	keys := slices.Sorted(maps.Keys(q))
	type field struct {
		keys []string
		n    int
	}
	fields := map[string]*field{} // by proto path
	chains := map[string][]protoreflect.FieldDescriptor{}
	for _, key := range keys {
		chain, ok := fieldPath(input, key, true)
		if !ok {
			return noField(input, key, chain), changed
		}
		chains[key] = chain
		p := protoPath(chain)
		if fields[p] == nil {
			fields[p] = &field{}
		}
		fields[p].keys = append(fields[p].keys, key)
		fields[p].n += len(q[key])
	}
	for _, key := range keys {
		chain, ok := chains[key]
		if !ok {
			continue
		}
		leaf, p := chain[len(chain)-1], protoPath(chain)
		if f := fields[p]; f.n > 1 && !leaf.IsList() {
			if len(f.keys) == 1 {
				refusal = fmt.Sprintf("query parameter %q is given %d times, but field %s takes one value (it is not repeated); give it once", key, f.n, p)
			} else {
				names := make([]string, len(f.keys))
				for i, k := range f.keys {
					names[i] = strconv.Quote(k)
				}
				refusal = fmt.Sprintf("query parameters %s name one field, %s, given %d times in all, but it takes one value (it is not repeated); give it once, by one name", strings.Join(names, " and "), p, f.n)
			}
			if isFieldMask(leaf) {
				refusal += fmt.Sprintf(", with the mask's paths separated by commas (?%s=title,readTime)", key)
			}
			return refusal, changed
		}
		for i, v := range q[key] {
			fixed, problem := queryValue(leaf, v)
			if problem != "" {
				return fmt.Sprintf("query parameter %q: %s", key, problem), changed
			}
			if fixed != v {
				q[key][i], changed = fixed, true
			}
		}
	}
	return "", changed
}

// queryValue checks v, a query's value for the field fd, as vanguard
// would decode it: it returns what to hand vanguard (v, but for a field
// mask, see fieldMaskJSON), or what is wrong with v, said for a client.
func queryValue(fd protoreflect.FieldDescriptor, v string) (fixed, problem string) {
	if fd.IsMap() {
		return v, fmt.Sprintf("field %s is a map, which a query cannot set; send it in a JSON body", fd.Name())
	}
	if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
		if scalarFits(fd, v) {
			return v, ""
		}
		return v, notA(fd, v)
	}
	name := fd.Message().FullName()
	if !scalarJSON(name) {
		return v, fmt.Sprintf("field %s is a message (%s), which a query cannot set whole; set its fields one by one (?%s.FIELD=...)", fd.Name(), name, fd.Name())
	}
	data := v
	if isFieldMask(fd) {
		if data, problem = fieldMaskJSON(v); problem != "" {
			return v, problem
		}
	}
	if stringJSON(name) {
		// vanguard quotes the value into a JSON string, unless it is
		// quoted already, and then decodes that: a value in quotes lost
		// them (?nickname="x" gave x), one with a control character was
		// refused, an empty one too. Quoted here, every value is decoded
		// back to itself.
		b, _ := json.Marshal(data)
		data = string(b)
	}
	if wktFits(fd, data) {
		return data, ""
	}
	problem = notA(fd, v)
	if name == "google.protobuf.Timestamp" && strings.Contains(v, " ") {
		problem += " (a + in a query is a space: write it as %2B)"
	}
	if stringJSON(name) && len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		problem += "; a query value goes without the quotes of its JSON form"
	}
	return v, problem
}

// stringJSON reports whether the message type name is a well-known type
// whose JSON form is a string.
func stringJSON(name protoreflect.FullName) bool {
	switch name {
	case "google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.BytesValue",
		"google.protobuf.StringValue", "google.protobuf.FieldMask":
		return true
	}
	return false
}

// scalarFits reports whether vanguard takes v for fd, a field of a
// scalar kind (vanguard's unmarshalFieldValue, decision for decision).
func scalarFits(fd protoreflect.FieldDescriptor, v string) bool {
	data := []byte(v)
	switch fd.Kind() {
	case protoreflect.BoolKind:
		var b bool
		return json.Unmarshal(data, &b) == nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		var x int32
		return json.Unmarshal(data, &x) == nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		var x int64
		return json.Unmarshal(data, &x) == nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		var x uint32
		return json.Unmarshal(data, &x) == nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		var x uint64
		return json.Unmarshal(data, &x) == nil
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		switch v {
		case "NaN", "Infinity", "-Infinity":
			return true
		}
		if fd.Kind() == protoreflect.FloatKind {
			var x float32
			return json.Unmarshal(data, &x) == nil
		}
		var x float64
		return json.Unmarshal(data, &x) == nil
	case protoreflect.StringKind:
		return true
	case protoreflect.BytesKind:
		enc := base64.StdEncoding
		if bytes.ContainsAny(data, "-_") {
			enc = base64.URLEncoding
		}
		if len(data)%4 != 0 {
			enc = enc.WithPadding(base64.NoPadding)
		}
		_, err := enc.DecodeString(v)
		return err == nil
	case protoreflect.EnumKind:
		var x protoreflect.EnumNumber
		if json.Unmarshal(data, &x) == nil {
			return true
		}
		if fd.Enum().FullName() == "google.protobuf.NullValue" && v == "null" {
			return true
		}
		return fd.Enum().Values().ByName(protoreflect.Name(v)) != nil
	}
	return false
}

// scalarJSON reports whether the message type name is one of the
// well-known types that vanguard lets a query set, those whose JSON form
// is a scalar.
func scalarJSON(name protoreflect.FullName) bool {
	switch name {
	case "google.protobuf.BoolValue", "google.protobuf.BytesValue", "google.protobuf.DoubleValue",
		"google.protobuf.Duration", "google.protobuf.Empty", "google.protobuf.FieldMask",
		"google.protobuf.FloatValue", "google.protobuf.Int32Value", "google.protobuf.Int64Value",
		"google.protobuf.NullValue", "google.protobuf.StringValue", "google.protobuf.Timestamp",
		"google.protobuf.UInt32Value", "google.protobuf.UInt64Value":
		return true
	}
	return false
}

func isFieldMask(fd protoreflect.FieldDescriptor) bool {
	return fd.Message() != nil && fd.Message().FullName() == "google.protobuf.FieldMask"
}

// wktFits reports whether vanguard takes data for fd, a field of a
// well-known type whose JSON form is a scalar (vanguard's
// unmarshalFieldWKT): the floating-point wrappers as their value field,
// the others as their JSON form (data, which for those whose JSON form is
// a string queryValue has quoted).
func wktFits(fd protoreflect.FieldDescriptor, data string) bool {
	md := fd.Message()
	switch md.Name() {
	case "DoubleValue", "FloatValue":
		return scalarFits(md.Fields().ByName("value"), data)
	}
	return protojson.Unmarshal([]byte(data), dynamicpb.NewMessage(md)) == nil
}

// fieldMaskJSON is v, a field mask in a query, in the JSON form vanguard
// takes: its paths separated by commas, each field in it named by its
// JSON name (lower camel case, readTime). A client may name a field by
// its proto name too (read_time), which is what the mask holds: a name
// with an underscore is a proto name, since no JSON name of a field mask
// has one, so either is read one way only. A name whose JSON form does
// not turn back into it ("a_1" and "a1" have the same) cannot be sent.
// An empty v is an empty mask. Spaces around a path are left out.
func fieldMaskJSON(v string) (string, string) {
	if strings.TrimSpace(v) == "" {
		return "", "" // an empty mask
	}
	paths := strings.Split(v, ",")
	for i, p := range paths {
		p = strings.TrimSpace(p)
		elems := strings.Split(p, ".")
		for j, e := range elems {
			if !strings.Contains(e, "_") {
				continue
			}
			camel := jsonCamelCase(e)
			if jsonSnakeCase(camel) != e {
				return v, fmt.Sprintf("%q is not a field mask: field name %q cannot be sent in one (its JSON form %q reads back as %q)", v, e, camel, jsonSnakeCase(camel))
			}
			elems[j] = camel
		}
		paths[i] = strings.Join(elems, ".")
		if !fieldMaskPath.MatchString(paths[i]) {
			return v, fmt.Sprintf("%q is not a field mask: %q is not a path of field names; list paths separated by commas, each field named by its JSON name (readTime) or its proto name (read_time), such as title,readTime,author.name", v, p)
		}
	}
	return strings.Join(paths, ","), ""
}

// fieldMaskPath is a path of a field mask in JSON form: names separated
// by dots.
var fieldMaskPath = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$`)

// jsonCamelCase and jsonSnakeCase turn a field's proto name into the
// name a field mask's JSON form gives it, and back, as the protobuf JSON
// mapping does.
func jsonCamelCase(s string) string {
	var b strings.Builder
	under := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' {
			if under && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			b.WriteByte(c)
		}
		under = c == '_'
	}
	return b.String()
}

func jsonSnakeCase(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			b.WriteByte('_')
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// notA says what is wrong with v, a value vanguard does not take for fd:
// what v is not, and what fd takes.
func notA(fd protoreflect.FieldDescriptor, v string) string {
	shown := v
	if len(shown) > 100 {
		shown = shown[:100] + "..."
	}
	return notAShown(fd, v, strconv.Quote(shown))
}

// notAShown is notA, v written q in the message (a JSON number as it is,
// where a string goes in quotes).
func notAShown(fd protoreflect.FieldDescriptor, v, q string) string {
	if md := fd.Message(); md != nil {
		switch md.Name() {
		case "Timestamp":
			return q + " is not a timestamp: write it in RFC 3339, such as 2024-05-01T12:00:00Z or 2024-05-01T14:00:00.5+02:00"
		case "Duration":
			return q + " is not a duration: write it in seconds followed by s, such as 90s, 1.5s or -0.25s"
		case "FieldMask", "Empty":
			return fmt.Sprintf("%s is not a %s in its JSON form", q, md.FullName())
		}
		if value := md.Fields().ByName("value"); value != nil {
			return notAShown(value, v, q)
		}
		return fmt.Sprintf("%s is not a %s in its JSON form", q, md.FullName())
	}
	kind := fd.Kind().String()
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return q + " is not a boolean: write true or false"
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if wholeNumber.MatchString(v) {
			lo, hi := intRange(fd.Kind())
			return fmt.Sprintf("%s is out of range for %s (%s to %s)", q, kind, lo, hi)
		}
		return fmt.Sprintf("%s is not an integer (%s)", q, kind)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		var x float64
		if fd.Kind() == protoreflect.FloatKind && json.Unmarshal([]byte(v), &x) == nil {
			return fmt.Sprintf("%s is out of range for float (at most %g either side of 0)", q, math.MaxFloat32)
		}
		return fmt.Sprintf("%s is not a number (%s): write it as 1.5, -2, 6.02e23, NaN, Infinity or -Infinity", q, kind)
	case protoreflect.BytesKind:
		return q + " is not base64 (bytes): write it in base64, standard or URL-safe, with or without its = padding"
	case protoreflect.EnumKind:
		ed := fd.Enum()
		if n := ed.Values().Len(); n <= 12 {
			names := make([]string, n)
			for i := range n {
				names[i] = string(ed.Values().Get(i).Name())
			}
			return fmt.Sprintf("%s is not a value of %s: write one of %s, or a number", q, ed.FullName(), strings.Join(names, ", "))
		}
		return fmt.Sprintf("%s is not a value of %s: write the name of one of its %d values, or a number", q, ed.FullName(), ed.Values().Len())
	}
	return fmt.Sprintf("%s does not fit field %s (%s)", q, fd.Name(), kind)
}

// wholeNumber is an integer written in decimal, as JSON writes it.
var wholeNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// intRange is the smallest and the largest value of an integer kind.
func intRange(k protoreflect.Kind) (string, string) {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return strconv.Itoa(math.MinInt32), strconv.Itoa(math.MaxInt32)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.Itoa(math.MinInt64), strconv.Itoa(math.MaxInt64)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return "0", strconv.FormatUint(math.MaxUint32, 10)
	}
	return "0", strconv.FormatUint(math.MaxUint64, 10)
}
