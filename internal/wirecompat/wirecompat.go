// Package wirecompat says how a new definition of a protobuf message
// would read bytes written with an old one: which of the old fields it
// would misread, or silently lose, in their binary wire form.
//
// It is for data that outlives the code that wrote it (a store's values,
// the messages waiting in a topic), which carries no description of its
// shape: only the two definitions can say whether they agree. It is not
// buf's breaking-change detection, which also guards names, JSON and the
// generated code against a git ref; it looks at what the wire form alone
// decides, so a renamed field, or an added or removed one, is no change.
package wirecompat

import (
	"fmt"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Change is one field of the old definition that the new one reads
// otherwise.
type Change struct {
	// Path is where the field is, from the outer message: "balance", or
	// "owner.name" for a field of a message-typed field.
	Path   string
	Number protoreflect.FieldNumber
	// Moved is the number the new definition gives the field's name
	// instead, when it does; else the number holds a field whose type
	// reads the old one's bytes otherwise (OldType, NewType).
	Moved            protoreflect.FieldNumber
	OldType, NewType string
}

// String says what the change does to bytes written with the old
// definition.
func (c Change) String() string {
	if c.Moved != 0 {
		return fmt.Sprintf("field %s moved from number %d to %d: what was written before reads as without it", c.Path, c.Number, c.Moved)
	}
	return fmt.Sprintf("field %s (number %d) changed from %s to %s: what was written before is misread, or does not decode", c.Path, c.Number, c.OldType, c.NewType)
}

// Compare returns the fields of old that bytes written with it would be
// misread in, or read without, by new, in the order old declares them,
// with those of message-typed fields after the field.
func Compare(old, new protoreflect.MessageDescriptor) []Change {
	var out []Change
	compare(old, new, "", map[[2]protoreflect.FullName]bool{}, &out)
	return out
}

func compare(old, new protoreflect.MessageDescriptor, prefix string, seen map[[2]protoreflect.FullName]bool, out *[]Change) {
	pair := [2]protoreflect.FullName{old.FullName(), new.FullName()}
	if seen[pair] { // a recursive message, compared already on this path or another
		return
	}
	seen[pair] = true
	fields := old.Fields()
	for i := range fields.Len() {
		of := fields.Get(i)
		path := prefix + string(of.Name())
		nf := new.Fields().ByNumber(of.Number())
		if nf == nil {
			// Gone, or moved: a field whose name now has another number.
			if moved := new.Fields().ByName(of.Name()); moved != nil {
				*out = append(*out, Change{Path: path, Number: of.Number(), Moved: moved.Number()})
			}
			continue
		}
		if wireClass(of) != wireClass(nf) {
			*out = append(*out, Change{Path: path, Number: of.Number(), OldType: typeName(of), NewType: typeName(nf)})
			continue
		}
		if of.Message() != nil && !of.IsMap() && !nf.IsMap() {
			compare(of.Message(), nf.Message(), path+".", seen, out)
		}
	}
}

// wireClass groups the field types whose wire forms read as each other's:
// the varints that hold a plain integer, the zigzag ones, text and bytes,
// each fixed width, and messages (of which the fields are compared next).
// A map is a message of its own on the wire, told apart by its key and
// value types.
func wireClass(f protoreflect.FieldDescriptor) string {
	if f.IsMap() {
		return "map<" + wireClass(f.MapKey()) + "," + wireClass(f.MapValue()) + ">"
	}
	switch f.Kind() {
	case protoreflect.BoolKind, protoreflect.EnumKind, protoreflect.Int32Kind, protoreflect.Int64Kind,
		protoreflect.Uint32Kind, protoreflect.Uint64Kind:
		return "varint"
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return "zigzag"
	case protoreflect.StringKind, protoreflect.BytesKind:
		return "text"
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		return "fixed32"
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return "fixed64"
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return "message"
	}
	return f.Kind().String() // float, double: each its own
}

// typeName is the field's type as a .proto file spells it.
func typeName(f protoreflect.FieldDescriptor) string {
	switch {
	case f.IsMap():
		return "map<" + typeName(f.MapKey()) + ", " + typeName(f.MapValue()) + ">"
	case f.Message() != nil:
		return string(f.Message().FullName())
	case f.Enum() != nil:
		return string(f.Enum().FullName())
	}
	return f.Kind().String()
}
