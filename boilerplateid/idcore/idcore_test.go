package idcore_test

import (
	"regexp"
	"strings"
	"testing"

	"parigot.dev/parigot/boilerplateid/idcore"
	idv1 "parigot.dev/parigot/proto/parigot/id/v1"
)

var known = idcore.Known{'h': "HostId", 'k': "CustomerId"}

var orderRE = regexp.MustCompile(`^o-[0-9a-f]{28}$`)

func TestTag(t *testing.T) {
	if got := idcore.Tag('o'); got != 0x6f00_0000_0000_0000 {
		t.Errorf("Tag('o') = %#x", got)
	}
	if idcore.Tag('o')&idcore.Mask != 0 || idcore.Tag('z')>>48 != 'z'<<8 {
		t.Error("the tag overlaps the random bits or is not letter and zero byte")
	}
}

func TestNew(t *testing.T) {
	seen := map[[2]uint64]bool{}
	for range 1000 {
		high, low := idcore.New('o')
		if high&^idcore.Mask != idcore.Tag('o') {
			t.Fatalf("New('o') high = %#x: wrong tag", high)
		}
		if high&idcore.Mask == 0 && low == 0 {
			t.Fatal("New returned the zero Id")
		}
		if eh, el := idcore.Empty('o'); high == eh && low == el {
			t.Fatal("New returned the empty Id")
		}
		if seen[[2]uint64{high, low}] {
			t.Fatalf("New returned %#x %#x twice", high, low)
		}
		seen[[2]uint64{high, low}] = true
	}
}

func TestFormat(t *testing.T) {
	cases := []struct {
		high, low uint64
		want      string
	}{
		{0, 0, "o-0000000000000000000000000000"},
		{idcore.Tag('o'), 0, "o-0000000000000000000000000000"},
		{idcore.Tag('o') | idcore.Mask, ^uint64(0), "o-ffffffffffffffffffffffffffff"},
		{idcore.Tag('o') | 0x0123_4567_89ab, 0xcdef_0123_4567_89ab, "o-0123456789abcdef0123456789ab"},
	}
	for _, tc := range cases {
		if got := idcore.Format('o', tc.high, tc.low); got != tc.want {
			t.Errorf("Format('o', %#x, %#x) = %q, want %q", tc.high, tc.low, got, tc.want)
		}
	}
	high, low := idcore.Empty('o')
	if got := idcore.Format('o', high, low); got != "o-ffffffffffffffffffffffffffff" {
		t.Errorf("the empty Id formats as %q", got)
	}
}

func TestExample(t *testing.T) {
	if got := idcore.Example('o', "OrderId"); got != "o-5f29a98c81c243148be6034af0a3" {
		t.Errorf("Example = %q", got)
	}
}

func TestParse(t *testing.T) {
	t.Run("reads back what Format writes", func(t *testing.T) {
		for range 100 {
			high, low := idcore.New('o')
			h, l, err := idcore.Parse(idcore.Format('o', high, low), 'o', "OrderId", known)
			if err != nil || h != high || l != low {
				t.Errorf("Parse = %#x %#x %v, want %#x %#x", h, l, err, high, low)
			}
		}
	})
	t.Run("the zero string is the zero Id", func(t *testing.T) {
		if h, l, err := idcore.Parse("o-0000000000000000000000000000", 'o', "OrderId", known); h != 0 || l != 0 || err != nil {
			t.Errorf("= %#x %#x %v", h, l, err)
		}
	})
	refused := []struct{ in, want string }{
		{"k-0123456789abcdef0123456789ab", `ParseOrderId: "k-0123456789abcdef0123456789ab" is a CustomerId, not an OrderId: OrderId strings start with "o-"`},
		{"h-0", `ParseOrderId: "h-0" is a HostId, not an OrderId`},
		{"x-0123456789abcdef0123456789ab", `ParseOrderId: "x-0123456789abcdef0123456789ab" is not an OrderId: want "o-" and 28 lowercase hex digits, for example o-5f29a98c81c243148be6034af0a3`},
		{"o-0123456789ABCDEF0123456789ab", `ParseOrderId: "o-0123456789ABCDEF0123456789ab" is not an OrderId: 'A' at offset 12 is not a lowercase hex digit`},
		{"", "is not an OrderId"},
		{"o-0123", "is not an OrderId"},
	}
	for _, tc := range refused {
		h, l, err := idcore.Parse(tc.in, 'o', "OrderId", known)
		if err == nil || !strings.Contains(err.Error(), tc.want) || h != 0 || l != 0 {
			t.Errorf("Parse(%q) = %#x %#x %v, want 0 0 and an error containing %q", tc.in, h, l, err, tc.want)
		}
	}
	t.Run("a type name with a consonant takes a", func(t *testing.T) {
		_, _, err := idcore.Parse("", 'k', "CustomerId", nil)
		if err == nil || !strings.Contains(err.Error(), "is not a CustomerId") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestFromProto(t *testing.T) {
	high, low := idcore.New('o')
	cases := []struct {
		name      string
		m         *idv1.Id
		high, low uint64
		err       string
	}{
		{"an Id of the type is itself", &idv1.Id{High: high, Low: low}, high, low, ""},
		{"nil is zero", nil, 0, 0, ""},
		{"unset is zero", &idv1.Id{}, 0, 0, ""},
		{"tagged with no random bits is zero", &idv1.Id{High: idcore.Tag('o')}, 0, 0, ""},
		{"a known type is named", &idv1.Id{High: idcore.Tag('k') | 1}, 0, 0, "OrderIdFromProto: the Id is a CustomerId, not an OrderId"},
		{"an unknown tag is shown", &idv1.Id{High: 0x1234 << 48, Low: 1}, 0, 0, "OrderIdFromProto: the Id's type tag is 0x1234, not OrderId's 0x6f00"},
		{"a known letter with a nonzero second byte is an unknown tag", &idv1.Id{High: 0x6b01 << 48, Low: 1}, 0, 0, "type tag is 0x6b01"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, l, err := idcore.FromProto(tc.m, 'o', "OrderId", known)
			if h != tc.high || l != tc.low || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("FromProto(%v) = %#x %#x %v, want %#x %#x %q", tc.m, h, l, err, tc.high, tc.low, tc.err)
			}
		})
	}
}

type order struct{ high, low uint64 }

func parseOrder(s string) (order, error) {
	h, l, err := idcore.Parse(s, 'o', "OrderId", known)
	return order{h, l}, err
}

func TestTextAndJSON(t *testing.T) {
	high, low := idcore.New('o')
	s := idcore.Format('o', high, low)
	if b, err := idcore.MarshalJSON(s); err != nil || string(b) != `"`+s+`"` {
		t.Errorf("MarshalJSON = %s, %v", b, err)
	}
	var x order
	if err := idcore.UnmarshalText(&x, []byte(s), parseOrder); err != nil || x != (order{high, low}) {
		t.Errorf("UnmarshalText = %v, %v", x, err)
	}
	if err := idcore.UnmarshalText(&x, []byte("k-0"), parseOrder); err == nil || x != (order{high, low}) {
		t.Errorf("UnmarshalText of another type: %v, %v; want an error and x unchanged", x, err)
	}
	var y order
	if err := idcore.UnmarshalJSON(&y, []byte(`"`+s+`"`), "OrderId", parseOrder); err != nil || y != x {
		t.Errorf("UnmarshalJSON = %v, %v", y, err)
	}
	if err := idcore.UnmarshalJSON(&y, []byte("null"), "OrderId", parseOrder); err != nil || y != x {
		t.Errorf("UnmarshalJSON(null) = %v, %v; want x unchanged", y, err)
	}
	if err := idcore.UnmarshalJSON(&y, []byte("12"), "OrderId", parseOrder); err == nil || err.Error() != "OrderId: JSON 12 is not a string" || y != x {
		t.Errorf("UnmarshalJSON(12) = %v, %v", y, err)
	}
	if !orderRE.MatchString(s) {
		t.Errorf("%q is not the string form", s)
	}
}
