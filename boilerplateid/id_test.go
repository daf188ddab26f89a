package boilerplateid_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"parigot.dev/parigot/boilerplateid/internal/testids"
	idv1 "parigot.dev/parigot/proto/parigot/id/v1"
)

// These tests exercise the code boilerplateid generates, through the types
// in internal/testids (OrderId, letter o; CustomerId, letter k).

var orderRE = regexp.MustCompile(`^o-[0-9a-f]{28}$`)

func TestNewIdsDoNotCollide(t *testing.T) {
	const n = 1_000_000
	seen := make(map[testids.OrderId]struct{}, n)
	for range n {
		id := testids.NewOrderId()
		if _, dup := seen[id]; dup {
			t.Fatalf("NewOrderId returned %s twice in %d Ids", id, len(seen))
		}
		seen[id] = struct{}{}
	}
}

func TestNewId(t *testing.T) {
	id := testids.NewOrderId()
	t.Run("is neither zero nor empty", func(t *testing.T) {
		if id.IsZero() || id.IsEmpty() {
			t.Errorf("%s: IsZero %v, IsEmpty %v", id, id.IsZero(), id.IsEmpty())
		}
	})
	t.Run("has the canonical string form", func(t *testing.T) {
		if !orderRE.MatchString(id.String()) {
			t.Errorf("String() = %q, want o- and 28 lowercase hex digits", id)
		}
	})
	t.Run("carries the type tag in its top 16 bits", func(t *testing.T) {
		if got := id.Proto().GetHigh() >> 48; got != 'o'<<8 {
			t.Errorf("tag = %#04x, want %#04x", got, 'o'<<8)
		}
	})
	t.Run("equals itself and not another", func(t *testing.T) {
		if !id.Equal(id) || id.Equal(testids.NewOrderId()) {
			t.Error("Equal is wrong")
		}
	})
}

func TestZeroAndEmpty(t *testing.T) {
	zero, empty := testids.OrderIdZero(), testids.OrderIdEmpty()
	cases := []struct {
		name           string
		id             testids.OrderId
		isZero, isEmpt bool
		str            string
	}{
		{"the zero value is zero", testids.OrderId{}, true, false, "o-0000000000000000000000000000"},
		{"OrderIdZero is the zero value", zero, true, false, "o-0000000000000000000000000000"},
		{"OrderIdEmpty is empty, not zero", empty, false, true, "o-ffffffffffffffffffffffffffff"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.id.IsZero() != tc.isZero || tc.id.IsEmpty() != tc.isEmpt {
				t.Errorf("IsZero %v IsEmpty %v, want %v %v", tc.id.IsZero(), tc.id.IsEmpty(), tc.isZero, tc.isEmpt)
			}
			if tc.id.String() != tc.str {
				t.Errorf("String() = %q, want %q", tc.id, tc.str)
			}
			back, err := testids.ParseOrderId(tc.str)
			if err != nil || back != tc.id {
				t.Errorf("ParseOrderId(%q) = %v, %v; want %v", tc.str, back, err, tc.id)
			}
		})
	}
}

func TestParse(t *testing.T) {
	id := testids.NewOrderId()
	t.Run("reads back what String writes", func(t *testing.T) {
		got, err := testids.ParseOrderId(id.String())
		if err != nil || got != id {
			t.Errorf("ParseOrderId(%q) = %v, %v", id, got, err)
		}
	})
	refused := []struct {
		name, in, want string
	}{
		{"another app type's string is refused, naming both types", testids.NewCustomerId().String(), "is a CustomerId, not an OrderId"},
		{"a built-in type's string is refused, naming both types", "h-0123456789abcdef0123456789ab", "is a HostId, not an OrderId"},
		{"an unknown letter is refused", "x-0123456789abcdef0123456789ab", `want "o-" and 28 lowercase hex digits`},
		{"uppercase hex is refused", strings.ToUpper(id.String()[:2]) + "0123456789ABCDEF0123456789AB", "not an OrderId"},
		{"uppercase digits are refused", "o-0123456789ABCDEF0123456789ab", "is not a lowercase hex digit"},
		{"a short string is refused", "o-0123", "not an OrderId"},
		{"a long string is refused", id.String() + "0", "not an OrderId"},
		{"the empty string is refused", "", "not an OrderId"},
		{"a missing dash is refused", "o_0123456789abcdef0123456789ab", "not an OrderId"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			got, err := testids.ParseOrderId(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseOrderId(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.want)
			}
		})
	}
	t.Run("the other type refuses an OrderId too", func(t *testing.T) {
		_, err := testids.ParseCustomerId(id.String())
		if err == nil || !strings.Contains(err.Error(), "is an OrderId, not a CustomerId") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestProto(t *testing.T) {
	id := testids.NewOrderId()
	t.Run("round-trips through the message and its wire form", func(t *testing.T) {
		b, err := proto.Marshal(id.Proto())
		if err != nil {
			t.Fatal(err)
		}
		var m idv1.Id
		if err := proto.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		got, err := testids.OrderIdFromProto(&m)
		if err != nil || got != id {
			t.Errorf("OrderIdFromProto = %v, %v; want %v", got, err, id)
		}
	})
	t.Run("a nil or unset message is the zero Id", func(t *testing.T) {
		for _, m := range []*idv1.Id{nil, {}} {
			if got, err := testids.OrderIdFromProto(m); err != nil || !got.IsZero() {
				t.Errorf("OrderIdFromProto(%v) = %v, %v", m, got, err)
			}
		}
	})
	t.Run("the zero and empty Ids round-trip", func(t *testing.T) {
		for _, x := range []testids.OrderId{testids.OrderIdZero(), testids.OrderIdEmpty()} {
			if got, err := testids.OrderIdFromProto(x.Proto()); err != nil || got != x {
				t.Errorf("%v -> %v, %v", x, got, err)
			}
		}
	})
	t.Run("another type's Id is refused, naming it", func(t *testing.T) {
		_, err := testids.OrderIdFromProto(testids.NewCustomerId().Proto())
		if err == nil || !strings.Contains(err.Error(), "is a CustomerId, not an OrderId") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("an unknown tag is refused", func(t *testing.T) {
		_, err := testids.OrderIdFromProto(&idv1.Id{High: 0x1234 << 48, Low: 1})
		if err == nil || !strings.Contains(err.Error(), "type tag is 0x1234") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestTextAndJSON(t *testing.T) {
	type order struct {
		ID    testids.OrderId  `json:"id"`
		Other testids.OrderId  `json:"other"`
		Ptr   *testids.OrderId `json:"ptr"`
	}
	in := order{ID: testids.NewOrderId(), Ptr: new(testids.NewOrderId())}
	t.Run("JSON round-trips, as the string form", func(t *testing.T) {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"id":"`+in.ID.String()+`"`) {
			t.Errorf("JSON %s lacks the string form of %v", b, in.ID)
		}
		var out order
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if out.ID != in.ID || !out.Other.IsZero() || out.Ptr == nil || *out.Ptr != *in.Ptr {
			t.Errorf("round trip: %+v, want %+v", out, in)
		}
	})
	t.Run("JSON null leaves the Id alone", func(t *testing.T) {
		var out order
		if err := json.Unmarshal([]byte(`{"id":null,"ptr":null}`), &out); err != nil || !out.ID.IsZero() || out.Ptr != nil {
			t.Errorf("%+v, %v", out, err)
		}
	})
	t.Run("JSON refuses another type and a non-string", func(t *testing.T) {
		var out order
		for _, in := range []string{`{"id":"` + testids.NewCustomerId().String() + `"}`, `{"id":12}`} {
			if err := json.Unmarshal([]byte(in), &out); err == nil {
				t.Errorf("json.Unmarshal(%s) succeeded", in)
			}
		}
	})
	t.Run("text round-trips", func(t *testing.T) {
		b, err := in.ID.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var out testids.OrderId
		if err := out.UnmarshalText(b); err != nil || out != in.ID {
			t.Errorf("UnmarshalText(%s) = %v, %v", b, out, err)
		}
	})
}

// FuzzParse checks that every string ParseOrderId accepts is the canonical
// form of the Id it returns, and that every Id (built from any two words)
// reads back from its string form.
func FuzzParse(f *testing.F) {
	f.Add("o-0123456789abcdef0123456789ab", uint64(0x6f00_0000_0000_0001), uint64(2))
	f.Add(testids.NewOrderId().String(), uint64(0), uint64(0))
	f.Fuzz(func(t *testing.T, s string, high, low uint64) {
		if x, err := testids.ParseOrderId(s); err == nil {
			if x.String() != s {
				t.Errorf("ParseOrderId(%q) = %v, whose String() differs", s, x)
			}
		} else if orderRE.MatchString(s) {
			t.Errorf("ParseOrderId(%q) refused a canonical string: %v", s, err)
		}
		x, err := testids.OrderIdFromProto(&idv1.Id{High: 0x6f00<<48 | high&(1<<48-1), Low: low})
		if err != nil {
			t.Fatalf("OrderIdFromProto: %v", err)
		}
		back, err := testids.ParseOrderId(x.String())
		if err != nil || back != x {
			t.Errorf("ParseOrderId(%q) = %v, %v; want %v", x, back, err, x)
		}
	})
}
