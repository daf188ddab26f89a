package guest

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/sourcecontextpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	idv1 "parigot.dev/parigot/proto/parigot/id/v1"
)

// parigot's own Id message has the generated fast methods; the
// well-known types have them through knownFast; SourceContext, a
// well-known type vtprotobuf leaves out, has none.
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
		{"a well-known type", wrapperspb.Bytes([]byte("payload"))},
		{"without them", &sourcecontextpb.SourceContext{FileName: "a.proto"}},
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
		{"a well-known type", func() proto.Message { return wrapperspb.Bytes([]byte("old")) }, &wrapperspb.BytesValue{}},
		{"without them", func() proto.Message { return &sourcecontextpb.SourceContext{FileName: "old"} }, &sourcecontextpb.SourceContext{}},
	} {
		t.Run(tc.name+" starts from an empty message", func(t *testing.T) {
			m := tc.into()
			in := wire
			if _, ok := m.(*idv1.Id); !ok {
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

// The well-known types that an app's methods most often take or return as
// they are are encoded and decoded with vtprotobuf's methods, to and from
// what protobuf-go reads and writes.
func TestWellKnownTypesHaveTheFastMethods(t *testing.T) {
	for _, m := range knownExamples {
		name := string(m.ProtoReflect().Descriptor().FullName())
		t.Run(name, func(t *testing.T) {
			if _, _, ok := knownFast(m); !ok {
				t.Fatalf("%s has no fast methods", name)
			}
			got, err := marshalAppend(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			back := m.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(got, back); err != nil || !proto.Equal(back, m) {
				t.Errorf("protobuf-go reads what marshalAppend wrote as %v (%v), want %v", back, err, m)
			}
			want, _ := proto.Marshal(m)
			decoded := m.ProtoReflect().New().Interface()
			if err := unmarshalFresh(want, decoded); err != nil || !proto.Equal(decoded, m) {
				t.Errorf("unmarshalFresh of what protobuf-go wrote gave %v (%v), want %v", decoded, err, m)
			}
		})
	}
}

// Struct, Value, ListValue and Any stay with protobuf-go (see knownFast),
// and still come out as protobuf-go writes them.
func TestTheLargerWellKnownTypesGoThroughProtobuf(t *testing.T) {
	st, _ := structpb.NewStruct(map[string]any{"a": "b"})
	packed, _ := anypb.New(wrapperspb.String("inside"))
	for _, m := range []proto.Message{st, structpb.NewStringValue("v"), &structpb.ListValue{}, packed} {
		if _, _, ok := knownFast(m); ok {
			t.Errorf("%T has fast methods: its package is now linked into every guest", m)
		}
		got, err := marshalAppend(nil, m)
		want, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("marshalAppend(%T) = %x, %v; want %x", m, got, err, want)
		}
	}
}

// knownExamples holds a message of each well-known type knownFast covers.
var knownExamples = []proto.Message{
	&emptypb.Empty{},
	wrapperspb.Bytes([]byte("payload")), wrapperspb.String("héllo"), wrapperspb.Bool(true),
	wrapperspb.Int32(-7), wrapperspb.Int64(-1 << 40), wrapperspb.UInt32(7), wrapperspb.UInt64(1 << 63),
	wrapperspb.Float(1.5), wrapperspb.Double(-2.25),
	timestamppb.New(time.Date(2026, 11, 26, 14, 30, 0, 123, time.UTC)), durationpb.New(-90 * time.Second),
	&fieldmaskpb.FieldMask{Paths: []string{"a.b", "c"}},
}

// Whatever bytes a caller or a service sends, a well-known type decoded
// with vtprotobuf's methods (knownFast) holds what protobuf-go would
// decode, and what protobuf-go accepts it accepts too, but where those
// methods differ from protobuf-go on purpose or as an app's own do: they
// drop unknown fields (the well-known types' only), refuse a known field
// sent with another wire type (protobuf-go keeps it as an unknown field),
// take a string that is not UTF-8 as it is (protobuf-go refuses it), and
// do not encode a float or double of -0, which then reads back as 0
// (protobuf-go writes it).
func FuzzKnownTypesDecodeAsProtobufDoes(f *testing.F) {
	for i, m := range knownExamples {
		b, _ := proto.Marshal(m)
		f.Add(uint8(i), b)
	}
	f.Add(uint8(1), []byte{0x0a, 0x05, 'a'})             // truncated
	f.Add(uint8(2), []byte{0x12, 0x01, 'x', 0x0a, 0x00}) // an unknown field, then the value
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		example := knownExamples[int(which)%len(knownExamples)]
		newMsg := func() proto.Message { return example.ProtoReflect().New().Interface() }
		want, got := newMsg(), newMsg()
		wantErr := proto.Unmarshal(b, want)
		gotErr := unmarshalFresh(b, got)
		// What UnaryMethodAs and CallEncodedAs decode a small message
		// with, leaving its bytes in a copy of b: the same outcome.
		aliased := newMsg()
		_, fu, _ := knownFast(aliased)
		aliasedErr := fu.(aliasUnmarshaler).UnmarshalVTUnsafe(append([]byte(nil), b...))
		if (aliasedErr == nil) != (gotErr == nil) || gotErr == nil && !proto.Equal(aliased, got) {
			t.Fatalf("%T: %x decodes to %v (%v) with UnmarshalVTUnsafe, to %v (%v) with UnmarshalVT", want, b, aliased, aliasedErr, got, gotErr)
		}
		if wantErr != nil {
			return
		}
		if gotErr != nil && strings.Contains(gotErr.Error(), "wrong wireType") {
			return
		}
		if gotErr != nil {
			t.Fatalf("%T: protobuf-go decodes %x, knownFast's method refuses it: %v", want, b, gotErr)
		}
		want.ProtoReflect().SetUnknown(nil)
		if !proto.Equal(got, want) {
			t.Fatalf("%T: %x decodes to %v, protobuf-go to %v", want, b, got, want)
		}
		out, err := marshalAppend(nil, got)
		back := newMsg()
		if negativeZero(want) {
			want = newMsg()
		}
		if err != nil || proto.Unmarshal(out, back) != nil || !proto.Equal(back, want) {
			t.Fatalf("%T: %v encodes to %x (%v), which protobuf-go reads as %v", want, got, out, err, back)
		}
	})
}

// negativeZero reports whether m is a FloatValue or DoubleValue of -0.
func negativeZero(m proto.Message) bool {
	switch m := m.(type) {
	case *wrapperspb.FloatValue:
		return m.GetValue() == 0 && math.Signbit(float64(m.GetValue()))
	case *wrapperspb.DoubleValue:
		return m.GetValue() == 0 && math.Signbit(m.GetValue())
	}
	return false
}
