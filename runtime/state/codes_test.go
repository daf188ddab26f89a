package state

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"parigot.dev/parigot/runtime/internal/abi"
)

// JetStream's refusal for want of storage (a full disk) reaches a guest as
// resource exhausted, saying what to do, not as internal with NATS's words.
func TestAFullDiskIsResourceExhaustedWithWhatToDo(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("put: %w", &jetstream.APIError{Code: 503, ErrorCode: 10023, Description: "insufficient resources"}),
		fmt.Errorf("delete: %w", &nats.APIError{Code: 503, ErrorCode: nats.JSErrCodeInsufficientResourcesErr, Description: "insufficient resources"}),
	} {
		code, msg := codeOf(err)
		if code != abi.CodeResourceExhausted || !strings.Contains(msg, "free space there, or run with --data on a disk with room") {
			t.Errorf("%v: %v %q, want resource exhausted saying what to do", err, code, msg)
		}
	}
}
