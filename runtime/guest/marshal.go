package guest

import (
	"slices"

	vtdurationpb "github.com/planetscale/vtprotobuf/types/known/durationpb"
	vtemptypb "github.com/planetscale/vtprotobuf/types/known/emptypb"
	vtfieldmaskpb "github.com/planetscale/vtprotobuf/types/known/fieldmaskpb"
	vttimestamppb "github.com/planetscale/vtprotobuf/types/known/timestamppb"
	vtwrapperspb "github.com/planetscale/vtprotobuf/types/known/wrapperspb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The methods that codegen generates (with vtprotobuf) for the messages of
// an app's proto3 packages: plain Go code for each message, where
// protobuf-go's Marshal and Unmarshal walk a message's description at run
// time, which inside wasm is most of what a small call costs. The
// well-known types get them from vtprotobuf's types/known packages (see
// knownFast). Other messages (proto2, code generated elsewhere) go
// through protobuf-go.
type (
	fastMarshaler interface {
		SizeVT() int
		MarshalToSizedBufferVT([]byte) (int, error)
	}
	fastUnmarshaler interface {
		UnmarshalVT([]byte) error
	}
	// aliasUnmarshaler decodes a message whose strings and bytes may stay
	// in the buffer given, which must then be the message's own (see
	// place).
	aliasUnmarshaler interface {
		UnmarshalVTUnsafe([]byte) error
	}
	fastMessage interface {
		fastMarshaler
		fastUnmarshaler
	}
)

// knownFast returns the fast methods of m when it is one of the
// well-known types an app's methods most often take or return as they are
// (google.protobuf.Empty above all, the wrappers, Timestamp, Duration,
// FieldMask): vtprotobuf's types/known packages define each as a type of
// its own, with the same fields, and the methods. Those drop unknown
// fields, which the well-known types, fixed for good, are not sent.
// Generated stubs convert to those types themselves (UnaryMethodAs,
// CallEncodedAs); knownFast serves Invoke and UnaryMethod, for calls
// written by hand and methods whose other message has no fast methods.
//
// Struct, Value, ListValue and Any are left to protobuf-go: naming them
// here would link their packages into every guest, used or not, half a
// megabyte of wasm (wazero's compile time grows with it), where these
// add 0.15 MB.
func knownFast(m proto.Message) (fastMarshaler, fastUnmarshaler, bool) {
	switch m := m.(type) {
	case *emptypb.Empty:
		return fastOf((*vtemptypb.Empty)(m))
	case *wrapperspb.BytesValue:
		return fastOf((*vtwrapperspb.BytesValue)(m))
	case *wrapperspb.StringValue:
		return fastOf((*vtwrapperspb.StringValue)(m))
	case *wrapperspb.BoolValue:
		return fastOf((*vtwrapperspb.BoolValue)(m))
	case *wrapperspb.Int32Value:
		return fastOf((*vtwrapperspb.Int32Value)(m))
	case *wrapperspb.Int64Value:
		return fastOf((*vtwrapperspb.Int64Value)(m))
	case *wrapperspb.UInt32Value:
		return fastOf((*vtwrapperspb.UInt32Value)(m))
	case *wrapperspb.UInt64Value:
		return fastOf((*vtwrapperspb.UInt64Value)(m))
	case *wrapperspb.FloatValue:
		return fastOf((*vtwrapperspb.FloatValue)(m))
	case *wrapperspb.DoubleValue:
		return fastOf((*vtwrapperspb.DoubleValue)(m))
	case *timestamppb.Timestamp:
		return fastOf((*vttimestamppb.Timestamp)(m))
	case *durationpb.Duration:
		return fastOf((*vtdurationpb.Duration)(m))
	case *fieldmaskpb.FieldMask:
		return fastOf((*vtfieldmaskpb.FieldMask)(m))
	}
	return nil, nil, false
}

// fastOf is f as each of the two interfaces. Converted from f's own type,
// each conversion is a constant, where converting one interface to the
// other would be a lookup at run time, on every call.
func fastOf[F fastMessage](f F) (fastMarshaler, fastUnmarshaler, bool) { return f, f, true }

// marshalAppend appends the wire form of m to b.
func marshalAppend(b []byte, m proto.Message) ([]byte, error) {
	// knownFast first: its switch compares m's type with constants, where
	// the assertion, failing, would look m's type up in the runtime's
	// table of interface implementations at each call (wasm keeps no cache
	// of it).
	if fm, _, ok := knownFast(m); ok {
		return appendFast(b, fm)
	}
	if fm, ok := m.(fastMarshaler); ok {
		return appendFast(b, fm)
	}
	return proto.MarshalOptions{}.MarshalAppend(b, m)
}

// appendFast appends the wire form of m, with its fast methods, to b.
func appendFast(b []byte, fm fastMarshaler) ([]byte, error) {
	n := fm.SizeVT()
	b = slices.Grow(b, n)
	// MarshalToSizedBufferVT writes backwards from the end of the slice it
	// is given, which must be exactly the message's size.
	done, err := fm.MarshalToSizedBufferVT(b[len(b) : len(b)+n])
	if err != nil {
		return b, err
	}
	return b[:len(b)+done], nil
}

// unmarshal decodes b into m, which it resets first, as proto.Unmarshal
// does.
func unmarshal(b []byte, m proto.Message) error {
	fm, ok := fastUnmarshalerOf(m)
	if !ok {
		return proto.Unmarshal(b, m)
	}
	proto.Reset(m)
	return fm.UnmarshalVT(b)
}

// unmarshalFresh is unmarshal of a message just made, which has nothing
// to reset.
func unmarshalFresh(b []byte, m proto.Message) error {
	fm, ok := fastUnmarshalerOf(m)
	if !ok {
		return proto.Unmarshal(b, m)
	}
	return fm.UnmarshalVT(b)
}

// fastUnmarshalerOf returns m's fast decoding method, its own or that of
// its well-known type; ok is false when it has none.
func fastUnmarshalerOf(m proto.Message) (fastUnmarshaler, bool) {
	if _, fu, ok := knownFast(m); ok { // first, as in marshalAppend
		return fu, true
	}
	fm, ok := m.(fastUnmarshaler)
	return fm, ok
}
