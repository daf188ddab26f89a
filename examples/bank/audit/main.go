// Command audit is the bank's audit service: the manifest subscribes its
// Record method to the topic "transfers", so every transfer published is a
// call of Record, delivered again until Record succeeds. It keeps each
// transfer in the store "audit" under its id, so that a transfer delivered
// twice is recorded once.
package main

import (
	"context"
	"fmt"
	"os"

	bankv1 "parigot.dev/parigot/examples/bank/gen/bank/v1"
	"parigot.dev/parigot/runtime/guest"
)

type server struct {
	audit *guest.Store
}

func main() {
	bankv1.RunAudit(&server{})
}

func (s *server) Ready(context.Context) bool {
	var err error
	if s.audit, err = guest.OpenStore("audit"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return false
	}
	return true
}

// Record keeps the transfer under its id: writing it again changes
// nothing, which is what makes at-least-once delivery safe here.
func (s *server) Record(ctx context.Context, t *bankv1.Transfer) *guest.Future[*bankv1.RecordResponse] {
	out := guest.NewFuture[*bankv1.RecordResponse]()
	guest.PutMessage(s.audit, recordKey(t.GetId()), t).
		Success(func(uint64) { out.Resolve(&bankv1.RecordResponse{}) }).
		Failure(func(err error) { out.Reject(err) })
	return out
}

// Count counts the transfers recorded.
func (s *server) Count(ctx context.Context, _ *bankv1.CountRequest) *guest.Future[*bankv1.CountResponse] {
	out := guest.NewFuture[*bankv1.CountResponse]()
	s.audit.Keys("transfer.*").
		Success(func(keys []string) { out.Resolve(&bankv1.CountResponse{Transfers: int64(len(keys))}) }).
		Failure(func(err error) { out.Reject(err) })
	return out
}

// recordKey is the store key of a transfer.
func recordKey(id string) string { return "transfer." + id }
