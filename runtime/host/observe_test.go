package host

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/observe"
)

// What a failed call's span says of its error: the Status's message and
// its first detail's message type; for a payload that is no Status, the
// payload, bounded; for a detail that is no Any, no type.
func TestAFailedCallsSpanSaysItsErrorsMessageAndType(t *testing.T) {
	detail := func(m proto.Message) []byte {
		a, err := anypb.New(m)
		if err != nil {
			t.Fatal(err)
		}
		b, err := proto.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	long := strings.Repeat("x", 3*observe.MaxErrorText)
	for _, c := range []struct {
		name           string
		payload        []byte
		message, typed string
	}{
		{"typed", abi.EncodeError(abi.CodeFailedPrecondition, "no none left", detail(wrapperspb.Int64(0)), detail(wrapperspb.String("more"))),
			"no none left", "google.protobuf.Int64Value"},
		{"untyped", abi.EncodeError(abi.CodeInternal, "broke"), "broke", ""},
		{"no message", abi.EncodeError(abi.CodeInternal, ""), "", ""},
		{"not a Status", []byte("no status"), "no status", ""}, // 'n' is no valid tag
		{"a detail that is no Any", abi.EncodeError(abi.CodeInternal, "m", []byte{0xff}), "m", ""},
		{"long", abi.EncodeError(abi.CodeInternal, long), observe.ErrorText(long), ""},
		{"long, not a Status", []byte("n" + long), observe.ErrorText("n" + long), ""},
	} {
		message, typed := replyFailure(c.payload)
		if message != c.message || typed != c.typed {
			t.Errorf("%s: message %q, type %q; want %q, %q", c.name, message, typed, c.message, c.typed)
		}
	}
}
