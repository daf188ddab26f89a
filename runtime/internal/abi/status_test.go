package abi_test

import (
	"testing"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/internal/abi"
)

// The error payload is a real google.rpc.Status: protobuf's own code reads
// what EncodeError writes, and DecodeError reads what protobuf writes.
func TestAnErrorPayloadIsAGoogleRPCStatus(t *testing.T) {
	detail, err := anypb.New(wrapperspb.Int64(42))
	if err != nil {
		t.Fatal(err)
	}
	detailBytes, _ := proto.Marshal(detail)

	t.Run("protobuf reads what EncodeError writes", func(t *testing.T) {
		var st spb.Status
		if err := proto.Unmarshal(abi.EncodeError(abi.CodeFailedPrecondition, "balance too low", detailBytes), &st); err != nil {
			t.Fatal(err)
		}
		if st.GetCode() != int32(abi.CodeFailedPrecondition) || st.GetMessage() != "balance too low" || len(st.GetDetails()) != 1 ||
			!proto.Equal(st.GetDetails()[0], detail) {
			t.Errorf("decoded %v", &st)
		}
	})
	t.Run("DecodeError reads what protobuf writes, unknown fields included", func(t *testing.T) {
		b, _ := proto.Marshal(&spb.Status{Code: int32(abi.CodeNotFound), Message: "no such account", Details: []*anypb.Any{detail, detail}})
		b = append(b, 0x20, 0x07)                   // field 4, varint: unknown to this version
		b = append(b, 0x2d, 0x01, 0x02, 0x03, 0x04) // field 5, fixed32
		code, msg, details, err := abi.DecodeError(b)
		if err != nil || code != abi.CodeNotFound || msg != "no such account" || len(details) != 2 {
			t.Fatalf("got %v %q %d details, err %v", code, msg, len(details), err)
		}
		var got anypb.Any
		if err := proto.Unmarshal(details[1], &got); err != nil || !proto.Equal(&got, detail) {
			t.Errorf("detail %v (%v), want %v", &got, err, detail)
		}
	})
	t.Run("a payload that is not a Status is refused, and its text kept for people", func(t *testing.T) {
		for _, junk := range [][]byte{{0x12, 0x09, 'a'}, {0x12, 0x02, 0xff, 0xfe}, {0x0f}, {0x08}} {
			if _, _, _, err := abi.DecodeError(junk); err == nil {
				t.Errorf("DecodeError(% x) succeeded", junk)
			}
		}
		if got := abi.ErrorMessage([]byte("plain text")); got != "plain text" {
			t.Errorf("ErrorMessage of plain text = %q", got)
		}
	})
}

func FuzzDecodeError(f *testing.F) {
	f.Add(abi.EncodeError(abi.CodeAborted, "retry", []byte{0x0a, 0x01, 'x'}))
	f.Add([]byte{0x12, 0x80, 0x80, 0x80, 0x80, 0x10})
	f.Fuzz(func(t *testing.T, b []byte) {
		code, msg, details, err := abi.DecodeError(b)
		if err != nil {
			return
		}
		// What it read, written again, reads the same.
		code2, msg2, details2, err := abi.DecodeError(abi.EncodeError(code, msg, details...))
		if err != nil || code2 != code || msg2 != msg || len(details2) != len(details) {
			t.Errorf("re-encoding %v %q %d details gave %v %q %d (%v)", code, msg, len(details), code2, msg2, len(details2), err)
		}
	})
}
