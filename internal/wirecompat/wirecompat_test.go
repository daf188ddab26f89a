package wirecompat

import (
	"context"
	"slices"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// message compiles a .proto file of package p holding src and returns
// its message p.M.
func message(t *testing.T, src string) protoreflect.MessageDescriptor {
	t.Helper()
	c := protocompile.Compiler{Resolver: &protocompile.SourceResolver{
		Accessor: protocompile.SourceAccessorFromMap(map[string]string{"p.proto": "syntax = \"proto3\";\npackage p;\n" + src}),
	}}
	files, err := c.Compile(context.Background(), "p.proto")
	if err != nil {
		t.Fatal(err)
	}
	return files[0].Messages().ByName("M")
}

func TestCompareSaysWhatOldBytesWouldBeMisreadIn(t *testing.T) {
	const v1 = `message M { int64 balance = 1; string owner = 2; N note = 3; }
message N { string text = 1; }`
	for _, tc := range []struct {
		name, v2 string
		want     []string
	}{
		{"a field added is no change", `message M { int64 balance = 1; string owner = 2; N note = 3; bool frozen = 4; }
message N { string text = 1; }`, nil},
		{"a field removed, or renamed, is no change", `message M { int64 amount = 1; N note = 3; reserved 2; }
message N { string text = 1; }`, nil},
		{"int32 to int64, string to bytes, keep their wire form", `message M { int32 balance = 1; bytes owner = 2; N note = 3; }
message N { string text = 1; }`, nil},
		{"a field renumbered is read as gone", `message M { int64 balance = 5; string owner = 2; N note = 3; }
message N { string text = 1; }`,
			[]string{"field balance moved from number 1 to 5: what was written before reads as without it"}},
		{"text that became a message is misread", `message M { int64 balance = 1; N owner = 2; N note = 3; }
message N { string text = 1; }`,
			[]string{"field owner (number 2) changed from string to p.N: what was written before is misread, or does not decode"}},
		{"a varint that became zigzag is misread", `message M { sint64 balance = 1; string owner = 2; N note = 3; }
message N { string text = 1; }`,
			[]string{"field balance (number 1) changed from int64 to sint64: what was written before is misread, or does not decode"}},
		{"a field of a message field is compared too", `message M { int64 balance = 1; string owner = 2; N note = 3; }
message N { int64 text = 1; }`,
			[]string{"field note.text (number 1) changed from string to int64: what was written before is misread, or does not decode"}},
		{"another message is compared field by field", `message M { string id = 1; string from = 2; }`,
			[]string{"field balance (number 1) changed from int64 to string: what was written before is misread, or does not decode"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range Compare(message(t, v1), message(t, tc.v2)) {
				got = append(got, c.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestCompareEndsOnRecursiveMessages(t *testing.T) {
	m := message(t, `message M { M next = 1; string s = 2; }`)
	if got := Compare(m, m); len(got) != 0 {
		t.Errorf("a message compared with itself: %v", got)
	}
}
