// Command counter is a test service that keeps a count in memory: Next
// answers 1, 2, 3... A reload of another guest must leave it counting on.
package main

import (
	"context"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	var n int64
	guest.Export("test.Counter", nil, map[string]guest.Method{
		"Next": guest.UnaryMethod(func() *wrapperspb.Int64Value { return new(wrapperspb.Int64Value) },
			func(context.Context, *wrapperspb.Int64Value) *guest.Future[*wrapperspb.Int64Value] {
				n++
				return guest.Resolved(wrapperspb.Int64(n))
			}),
	})
	guest.Run()
}
