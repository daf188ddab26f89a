// Command shop greets by name, and panics when the name is "boom": a
// service that a call takes down for good (it is not restarted).
package main

import (
	"context"

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
				return guest.Resolved(wrapperspb.String("Hello, " + req.GetValue() + "!"))
			}),
	})
	guest.Run()
}
