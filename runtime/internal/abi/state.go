package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Stores and topics (the manifest's store and topic blocks) are reached
// like services: a guest opens one with FuncOpen, which gives it a handle,
// and dispatches calls on that handle with FuncDispatch. The method is one
// of the Op* names below; the request is a StateRequest, the reply as each
// Op says. Their replies arrive through poll as any reply does, so a store
// operation is a future like a call, and it inherits the deadline of the
// call the guest serves.

// Kinds of thing FuncOpen opens.
const (
	OpenStore uint32 = 1 // a key-value store: store "name" {}
	OpenTopic uint32 = 2 // a topic: topic "name" {}
)

// OpenWithValue, added to the kind of a store's open (OpenStore |
// OpenWithValue), asks the host for the full name of the proto message
// the store's values are declared as (its value in parigot.hcl) besides
// the handle, so that the guest library refuses a message of another
// type before it is stored or read. handleOut then points at an open
// record of OpenRecordSize bytes, u32s in little endian, at the offsets
// below: the guest says where the name goes and how much fits there, the
// host writes the handle and the name's length (0 for a store that
// declares no value) and, when it fits, the name. A name longer than
// that is StatusBufferTooSmall, with the handle and the length written
// and nothing at the pointer: open it again with room for the length.
//
// The flag keeps the change compatible both ways. A guest built before
// it never sets it, and gets the handle alone at handleOut, as it always
// did. A host from before it takes a flagged kind for an unknown one
// (StatusBadArgument): the guest then opens the store without the flag,
// and checks no type, which that host does not know. Topics and http
// endpoints declare no value: the flag on their kinds is
// StatusBadArgument.
const OpenWithValue uint32 = 1 << 31

// The open record of OpenWithValue: offsets of its fields.
const (
	OpenRecordHandle   = 0  // u32 out: the handle, as handleOut holds it without the flag
	OpenRecordValuePtr = 4  // u32 in: where the host writes the value's message name
	OpenRecordValueCap = 8  // u32 in: how many bytes fit there
	OpenRecordValueLen = 12 // u32 out: the name's length, 0 when the store declares no value
	OpenRecordSize     = 16
)

// The methods of a store and of a topic. Replies: OpGet, a StateEntry;
// OpPut, OpCreate and OpUpdate, the new revision (u64, little endian);
// OpDelete, nothing; OpKeys, the keys (EncodeKeys); OpPublish, the
// message's sequence number in its topic (u64).
const (
	OpGet     = "Get"     // Key
	OpPut     = "Put"     // Key, Value, TTL
	OpCreate  = "Create"  // Key, Value, TTL: fails with CodeAlreadyExists when the key holds a value
	OpUpdate  = "Update"  // Key, Value, Revision, TTL: fails with CodeAborted unless Revision is the key's latest
	OpDelete  = "Delete"  // Key
	OpKeys    = "Keys"    // nothing
	OpPublish = "Publish" // Value
)

// MaxValue is the largest value a store holds, and the largest message a
// topic carries: 1 MiB, the NATS server's default message size.
const MaxValue = 1 << 20

// MaxKey bounds a key's length.
const MaxKey = 1024

// ValidKey reports whether key can name a value in a store. Keys are NATS
// subject tokens, so they hold only ASCII letters, digits and "-_=/.", do
// not start or end with ".", and have no empty element between dots; at
// most MaxKey bytes. A guest checks before it asks, the host again.
func ValidKey(key string) bool {
	if key == "" || len(key) > MaxKey || key[0] == '.' || key[len(key)-1] == '.' {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '=' || c == '/':
		case c == '.':
			if key[i-1] == '.' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// ValidKeyFilter reports whether filter can select keys: elements of a key
// (see ValidKey), any of which may be "*" (one element), the last of which
// may be ">" (one or more).
func ValidKeyFilter(filter string) bool {
	if filter == "" || len(filter) > MaxKey {
		return false
	}
	elems := strings.Split(filter, ".")
	for i, e := range elems {
		if e == "*" || e == ">" && i == len(elems)-1 {
			continue
		}
		if !ValidKey(e) {
			return false
		}
	}
	return true
}

// ShowKey is key as an error message shows it: quoted, and cut after 64
// bytes, so that a key of megabytes makes no message of megabytes.
func ShowKey(key string) string {
	const shown = 64
	if len(key) <= shown {
		return fmt.Sprintf("%q", key)
	}
	return fmt.Sprintf("%q... (%d bytes)", key[:shown], len(key))
}

// WrongValue says why a message of type given (its full name; "" for
// none, a nil message) may not be stored in or read from store, whose
// values are declared as messages of type declared (value in its block of
// parigot.hcl), or "" when it may: declared is "" (any message), or given
// is declared. The guest library and the test harness's store handles
// refuse such a message with it, before anything is sent.
func WrongValue(store, declared, given string) string {
	if declared == "" || given == declared {
		return ""
	}
	if given == "" {
		given = "no message (nil)"
	}
	return fmt.Sprintf("store %s holds %s values (value in its block of parigot.hcl), not %s: pass a %s, or, if the store is to hold %s values, change its value line in parigot.hcl",
		store, declared, given, declared, given)
}

// NotTheValue says that the value of key in store is not a message of
// type message (its full name): decoding it failed with err. It names the
// store and the key, so that the error still says where to look once a
// caller up the chain has it.
func NotTheValue(store, key, message string, err error) string {
	return fmt.Sprintf("the value of %q in store %s is not a %s (%v): it was written in another shape, by another version of the code or not as this message; 'parigot state get %s %s' shows it",
		key, store, message, err, store, key)
}

// StateRequest is the request of a store or topic operation.
type StateRequest struct {
	Key      string
	Revision uint64 // OpUpdate: the revision the key must still have
	TTL      int64  // nanoseconds the value lives; 0: until deleted
	Value    []byte
}

// stateHeader: key length u32, revision u64, ttl i64.
const stateHeader = 4 + 8 + 8

// Encode appends r's encoding to b: key length u32, revision u64, ttl i64,
// key bytes, value bytes (the rest), little endian.
func (r *StateRequest) Encode(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Key)))
	b = binary.LittleEndian.AppendUint64(b, r.Revision)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.TTL))
	b = append(b, r.Key...)
	return append(b, r.Value...)
}

// ErrBadState reports a state request or reply that is not what its
// encoding says.
var ErrBadState = errors.New("abi: malformed store or topic message")

// DecodeStateRequest parses a request; Value aliases b.
func DecodeStateRequest(b []byte) (StateRequest, error) {
	if len(b) < stateHeader {
		return StateRequest{}, ErrBadState
	}
	kl := uint64(binary.LittleEndian.Uint32(b))
	if kl > uint64(len(b)-stateHeader) {
		return StateRequest{}, ErrBadState
	}
	return StateRequest{
		Revision: binary.LittleEndian.Uint64(b[4:]),
		TTL:      int64(binary.LittleEndian.Uint64(b[12:])),
		Key:      string(b[stateHeader : stateHeader+kl]),
		Value:    b[stateHeader+kl:],
	}, nil
}

// StateEntry is the reply of OpGet: the value and its revision.
type StateEntry struct {
	Revision uint64
	Value    []byte
}

// Encode appends e: revision u64, then the value.
func (e *StateEntry) Encode(b []byte) []byte {
	b = binary.LittleEndian.AppendUint64(b, e.Revision)
	return append(b, e.Value...)
}

// DecodeStateEntry parses an OpGet reply; Value aliases b.
func DecodeStateEntry(b []byte) (StateEntry, error) {
	if len(b) < 8 {
		return StateEntry{}, ErrBadState
	}
	return StateEntry{Revision: binary.LittleEndian.Uint64(b), Value: b[8:]}, nil
}

// EncodeRevision is the reply of the writes and of OpPublish.
func EncodeRevision(rev uint64) []byte { return binary.LittleEndian.AppendUint64(nil, rev) }

// DecodeRevision parses it.
func DecodeRevision(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, ErrBadState
	}
	return binary.LittleEndian.Uint64(b), nil
}

// EncodeKeys is the reply of OpKeys: each key's length (u32) and bytes.
func EncodeKeys(keys []string) []byte {
	var b []byte
	for _, k := range keys {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(k)))
		b = append(b, k...)
	}
	return b
}

// DecodeKeys parses an OpKeys reply.
func DecodeKeys(b []byte) ([]string, error) {
	var keys []string
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, ErrBadState
		}
		n := uint64(binary.LittleEndian.Uint32(b))
		if n > uint64(len(b)-4) {
			return nil, ErrBadState
		}
		keys = append(keys, string(b[4:4+n]))
		b = b[4+n:]
	}
	return keys, nil
}
