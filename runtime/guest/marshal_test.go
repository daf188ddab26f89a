package guest

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	idv1 "parigot.dev/parigot/proto/parigot/id/v1"
)

// parigot's own Id message has the generated fast methods; BytesValue, a
// well-known type, does not.
var (
	_ fastMarshaler   = (*idv1.Id)(nil)
	_ fastUnmarshaler = (*idv1.Id)(nil)
)

func TestMarshalAppendWritesWhatProtobufWrites(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  proto.Message
	}{
		{"with the fast methods", &idv1.Id{High: 1 << 63, Low: 42}},
		{"with the fast methods, empty", &idv1.Id{}},
		{"with the fast methods, nil", (*idv1.Id)(nil)},
		{"without them", wrapperspb.Bytes([]byte("payload"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := proto.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			for _, prefix := range [][]byte{nil, []byte("abc"), make([]byte, 2, 64)} {
				got, err := marshalAppend(bytes.Clone(prefix), tc.msg)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, append(bytes.Clone(prefix), want...)) {
					t.Errorf("marshalAppend(%q) = %x, want the prefix then %x", prefix, got, want)
				}
			}
		})
	}
}

func TestUnmarshalResetsAndRejectsWhatProtobufRejects(t *testing.T) {
	wire, _ := proto.Marshal(&idv1.Id{Low: 7})
	for _, tc := range []struct {
		name string
		into func() proto.Message
		want proto.Message
	}{
		{"with the fast methods", func() proto.Message { return &idv1.Id{High: 9, Low: 9} }, &idv1.Id{Low: 7}},
		{"without them", func() proto.Message { return wrapperspb.Bytes([]byte("old")) }, &wrapperspb.BytesValue{}},
	} {
		t.Run(tc.name+" starts from an empty message", func(t *testing.T) {
			m := tc.into()
			in := wire
			if _, ok := m.(*wrapperspb.BytesValue); ok {
				in = nil
			}
			if err := unmarshal(in, m); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(m, tc.want) {
				t.Errorf("unmarshal = %v, want %v", m, tc.want)
			}
		})
		t.Run(tc.name+" rejects a truncated message", func(t *testing.T) {
			bad := []byte{0x0a, 0x05, 'a'} // field 1, length 5, one byte
			if err := unmarshal(bad, tc.into()); err == nil {
				t.Error("unmarshal succeeded")
			}
			if err := proto.Unmarshal(bad, tc.into()); err == nil {
				t.Error("proto.Unmarshal succeeded: the case tests nothing")
			}
		})
	}
}
