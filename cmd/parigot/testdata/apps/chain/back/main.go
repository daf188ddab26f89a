// Command back answers Relay with its request: the last link of the chain.
package main

import (
	"context"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.Export("test.Back", nil, map[string]guest.Method{
		"Relay": guest.UnaryMethod(func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) },
			func(_ context.Context, req *wrapperspb.StringValue) *guest.Future[*wrapperspb.StringValue] {
				return guest.Resolved(req)
			}),
	})
	guest.Run()
}
