package guest

import (
	"slices"

	"google.golang.org/protobuf/proto"
)

// The methods that codegen generates (with vtprotobuf) for the messages of
// an app's proto3 packages: plain Go code for each message, where
// protobuf-go's Marshal and Unmarshal walk a message's description at run
// time, which inside wasm is most of what a small call costs. Messages
// without them (well-known types, proto2, code generated elsewhere) go
// through protobuf-go.
type (
	fastMarshaler interface {
		SizeVT() int
		MarshalToSizedBufferVT([]byte) (int, error)
	}
	fastUnmarshaler interface {
		UnmarshalVT([]byte) error
	}
)

// marshalAppend appends the wire form of m to b.
func marshalAppend(b []byte, m proto.Message) ([]byte, error) {
	fm, ok := m.(fastMarshaler)
	if !ok {
		return proto.MarshalOptions{}.MarshalAppend(b, m)
	}
	return appendFast(b, fm)
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
	fm, ok := m.(fastUnmarshaler)
	if !ok {
		return proto.Unmarshal(b, m)
	}
	proto.Reset(m)
	return fm.UnmarshalVT(b)
}

// unmarshalFresh is unmarshal of a message just made, which has nothing
// to reset.
func unmarshalFresh(b []byte, m proto.Message) error {
	fm, ok := m.(fastUnmarshaler)
	if !ok {
		return proto.Unmarshal(b, m)
	}
	return fm.UnmarshalVT(b)
}
