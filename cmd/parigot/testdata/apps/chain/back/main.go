// Command back answers Relay with its request, the last link of the chain,
// and prints a line while it serves it (the line belongs to the call's
// trace).
package main

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.Export("test.Back", nil, map[string]guest.Method{
		"Relay": guest.UnaryMethod(func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) },
			func(_ context.Context, req *wrapperspb.StringValue) *guest.Future[*wrapperspb.StringValue] {
				fmt.Println("back got", req.GetValue())
				return guest.Resolved(req)
			}),
	})
	guest.Run()
}
