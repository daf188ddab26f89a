package abi

import (
	"encoding/binary"
	"errors"
	"unicode/utf8"
)

// The payload of a reply whose code is not CodeOK is a google.rpc.Status in
// protobuf's wire format: field 1 the code (int32), field 2 the message
// (string), field 3 the details (repeated google.protobuf.Any, each kept
// here as its encoded bytes). The gateway hands it to clients as it is
// (grpc-status-details-bin), and a guest that forwards an error forwards it
// whole. This package encodes and decodes it by hand, so that the host and
// the ABI need no protobuf library.

// Status fields: their tags, the field number shifted left by three and
// or'ed with the wire type (0 varint, 2 length-delimited).
const (
	statusCodeTag    = 1 << 3   // code, varint
	statusMessageTag = 2<<3 | 2 // message, bytes
	statusDetailsTag = 3<<3 | 2 // details, bytes
)

// EncodeError returns the payload of an error reply: a google.rpc.Status
// with code, message and details (each an encoded google.protobuf.Any).
func EncodeError(code Code, message string, details ...[]byte) []byte {
	n := 1 + binary.MaxVarintLen64 + 1 + binary.MaxVarintLen64 + len(message)
	for _, d := range details {
		n += 1 + binary.MaxVarintLen64 + len(d)
	}
	b := make([]byte, 0, n)
	if code != CodeOK {
		b = append(b, statusCodeTag)
		b = binary.AppendUvarint(b, uint64(code))
	}
	if message != "" {
		b = append(b, statusMessageTag)
		b = binary.AppendUvarint(b, uint64(len(message)))
		b = append(b, message...)
	}
	for _, d := range details {
		b = append(b, statusDetailsTag)
		b = binary.AppendUvarint(b, uint64(len(d)))
		b = append(b, d...)
	}
	return b
}

// ErrNotStatus reports an error payload that is not a google.rpc.Status.
var ErrNotStatus = errors.New("abi: error payload is not a google.rpc.Status")

// DecodeError reads the payload of an error reply: its code, message and
// details (each an encoded google.protobuf.Any, aliasing b). Fields it does
// not know are skipped, as protobuf does; a payload that is not a valid
// Status (or whose message is not UTF-8) is ErrNotStatus.
func DecodeError(b []byte) (code Code, message string, details [][]byte, err error) {
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, "", nil, ErrNotStatus
		}
		b = b[n:]
		switch tag & 7 {
		case 0: // varint
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return 0, "", nil, ErrNotStatus
			}
			b = b[n:]
			if tag>>3 == 1 {
				code = Code(int32(v))
			}
		case 2: // length-delimited
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return 0, "", nil, ErrNotStatus
			}
			field := b[n : n+int(l)]
			b = b[n+int(l):]
			switch tag >> 3 {
			case 2:
				if !utf8.Valid(field) {
					return 0, "", nil, ErrNotStatus
				}
				message = string(field)
			case 3:
				details = append(details, field)
			}
		case 1: // fixed64
			if len(b) < 8 {
				return 0, "", nil, ErrNotStatus
			}
			b = b[8:]
		case 5: // fixed32
			if len(b) < 4 {
				return 0, "", nil, ErrNotStatus
			}
			b = b[4:]
		default:
			return 0, "", nil, ErrNotStatus
		}
	}
	return code, message, details, nil
}

// ErrorMessage is the message of an error reply's payload, for people: the
// Status's message, or the payload itself when it is not a Status.
func ErrorMessage(payload []byte) string {
	if _, msg, _, err := DecodeError(payload); err == nil {
		return msg
	}
	return string(payload)
}

// ErrorEvent is the reply event that fails call id with code and message.
func ErrorEvent(id uint64, code Code, message string) Event {
	return Event{Kind: KindReply, Code: code, CallID: id, Payload: EncodeError(code, message)}
}
