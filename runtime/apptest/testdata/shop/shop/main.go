// Command shop greets by name, panics when the name is "boom": a service
// that a call takes down for good (it is not restarted), and answers
// "slow" after 200ms: within its budget in a test (500ms), over it at a
// PARIGOT_TIMEOUT_SCALE of 1 (50ms); and never answers "stuck": it runs
// until the host stops it, over any budget, however late the host's
// watchdog looks on a starved machine.
package main

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.Export("test.Shop", nil, map[string]guest.Method{
		"Greet": guest.UnaryMethod(func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) },
			func(_ context.Context, req *wrapperspb.StringValue) *guest.Future[*wrapperspb.StringValue] {
				if req.GetValue() == "boom" {
					panic("boom")
				}
				if req.GetValue() == "stuck" {
					for {
					}
				}
				if req.GetValue() == "slow" {
					for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); {
					}
				}
				return guest.Resolved(wrapperspb.String("Hello, " + req.GetValue() + "!"))
			}),
	})
	guest.Run()
}
