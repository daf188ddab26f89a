// Command version2 is version1 changed: its Which method answers "v2". The
// reload tests swap it in for version1.
package main

import (
	"context"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.Export("test.Version", nil, map[string]guest.Method{
		"Which": guest.UnaryMethod(func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) },
			func(context.Context, *wrapperspb.StringValue) *guest.Future[*wrapperspb.StringValue] {
				return guest.Resolved(wrapperspb.String("v2"))
			}),
	})
	guest.Run()
}
