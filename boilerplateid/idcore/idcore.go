// Package idcore is the logic behind the typed Id types that boilerplateid
// generates (OrderId, HostId, ...). A generated type holds two uint64s, high
// and low, and each of its methods is one call into this package: random
// generation, the string form, parsing (refusing another type's Id and
// naming it), the conversion from the protobuf message parigot.id.v1.Id, and
// text and JSON unmarshalling. docs/IDS.md describes the bits, the string
// form and the generated API.
//
// The functions identify a type by its letter ('o'), which makes its type
// tag, and its Go name ("OrderId"), which their errors use. Apps do not call
// this package themselves; their generated code does, so it is part of the
// API that generated code may rely on.
package idcore

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	idv1 "parigot.dev/parigot/proto/parigot/id/v1"
)

// Mask selects the 48 random bits of the high word; the 16 bits above them
// are the type tag.
const Mask uint64 = 1<<48 - 1

// Known names Id types by their letters, for the errors of Parse and
// FromProto: Known{'h': "HostId"} makes Parse say that "h-…" "is a HostId".
// A generated file lists the other Id types parigot knows: the built-in ones
// and its app's.
type Known map[byte]string

// Tag returns the type tag of the Id type with the given letter, in place in
// the high word: the letter's ASCII code, then a zero byte, then 48 zero
// bits ('o' gives 0x6f00_0000_0000_0000).
func Tag(letter byte) uint64 { return uint64(letter) << 56 }

// New returns the words of a new Id with the given letter, whose 112 random
// bits come from crypto/rand. It is never the zero Id (no random bit set) or
// the empty one (every random bit set).
func New(letter byte) (high, low uint64) {
	var b [16]byte
	for {
		rand.Read(b[2:]) // never fails: crypto/rand ends the program if it cannot read
		high, low = Tag(letter)|binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
		if random := high & Mask; (random != 0 || low != 0) && (random != Mask || low != ^uint64(0)) {
			return high, low
		}
	}
}

// Empty returns the words of the empty Id with the given letter: tagged,
// with every random bit set.
func Empty(letter byte) (high, low uint64) { return Tag(letter) | Mask, ^uint64(0) }

// Format returns the string form of an Id: its letter, "-" and its 112
// random bits as 28 lowercase hex digits, most significant first. It ignores
// the tag bits of high, so the zero Id formats as letter-and-zeros too.
func Format(letter byte, high, low uint64) string {
	const digits = "0123456789abcdef"
	var b [30]byte
	b[0], b[1] = letter, '-'
	v := high & Mask
	for i := 13; i >= 2; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	v = low
	for i := 29; i >= 14; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b[:])
}

// Example returns the example string form that the doc comment and the
// errors of typeName show: letter, "-" and 28 hex digits of the SHA-256 of
// typeName, the same on every run.
func Example(letter byte, typeName string) string {
	sum := sha256.Sum256([]byte(typeName))
	return string(letter) + "-" + hex.EncodeToString(sum[:14])
}

// Parse reads the string form of an Id of the type typeName, with the given
// letter, as Format writes it, and returns its words: (0, 0) for the zero
// Id. It refuses any other form. When s starts with the letter of a type in
// known, the error names that type; errors start with "Parse" + typeName.
func Parse(s string, letter byte, typeName string, known Known) (high, low uint64, err error) {
	fn := "Parse" + typeName // what errors start with
	if len(s) >= 2 && s[0] != letter && s[1] == '-' {
		if other := known[s[0]]; other != "" {
			return 0, 0, fmt.Errorf("%s: %q is %s, not %s: %s strings start with \"%c-\"", fn, s, withArticle(other), withArticle(typeName), typeName, letter)
		}
	}
	if len(s) != 30 || s[0] != letter || s[1] != '-' {
		return 0, 0, fmt.Errorf("%s: %q is not %s: want \"%c-\" and 28 lowercase hex digits, for example %s", fn, s, withArticle(typeName), letter, Example(letter, typeName))
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		var d uint64
		switch {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case 'a' <= c && c <= 'f':
			d = uint64(c-'a') + 10
		default:
			return 0, 0, fmt.Errorf("%s: %q is not %s: %q at offset %d is not a lowercase hex digit", fn, s, withArticle(typeName), c, i)
		}
		if i < 14 {
			high = high<<4 | d
		} else {
			low = low<<4 | d
		}
	}
	if high == 0 && low == 0 {
		return 0, 0, nil
	}
	return Tag(letter) | high, low, nil
}

// FromProto returns the words of the Id of the type typeName, with the given
// letter, that m holds. A nil m, or one whose random bits are all zero (and
// whose tag is zero or the type's), is the zero Id (0, 0). An Id with
// another tag is an error that names its type when known has it; errors
// start with typeName + "FromProto".
func FromProto(m *idv1.Id, letter byte, typeName string, known Known) (high, low uint64, err error) {
	high, low = m.GetHigh(), m.GetLow()
	tag, want := high&^Mask, Tag(letter)
	if high&Mask == 0 && low == 0 && (high == 0 || tag == want) {
		return 0, 0, nil
	}
	if tag != want {
		if other := known[byte(tag>>56)]; other != "" && tag<<8 == 0 {
			return 0, 0, fmt.Errorf("%sFromProto: the Id is %s, not %s", typeName, withArticle(other), withArticle(typeName))
		}
		return 0, 0, fmt.Errorf("%sFromProto: the Id's type tag is %#04x, not %s's %#04x", typeName, tag>>48, typeName, want>>48)
	}
	return high, low, nil
}

// UnmarshalText sets *x to parse(string(b)), and leaves it as it is when
// parse fails. A generated UnmarshalText passes its Parse function.
func UnmarshalText[T any](x *T, b []byte, parse func(string) (T, error)) error {
	y, err := parse(string(b))
	if err != nil {
		return err
	}
	*x = y
	return nil
}

// MarshalJSON returns s, a string form, as a JSON string. (A string form
// holds nothing that JSON escapes.)
func MarshalJSON(s string) ([]byte, error) { return []byte(`"` + s + `"`), nil }

// UnmarshalJSON sets *x from the JSON string b, as UnmarshalText does. JSON
// null leaves *x as it is; any other non-string is an error that starts with
// typeName.
func UnmarshalJSON[T any](x *T, b []byte, typeName string, parse func(string) (T, error)) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s: JSON %.40s is not a string", typeName, b)
	}
	return UnmarshalText(x, []byte(s), parse)
}

// withArticle puts the indefinite article before a type name: "an OrderId",
// "a HostId".
func withArticle(typeName string) string {
	if typeName != "" && strings.ContainsRune("AEIOUaeiou", rune(typeName[0])) {
		return "an " + typeName
	}
	return "a " + typeName
}
