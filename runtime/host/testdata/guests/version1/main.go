// Command version1 is a test service whose Which method answers "v1": the
// reload tests swap it for version2. Each answer takes 5ms of
// work, so that a swap finds it busy.
package main

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.Export("test.Version", nil, map[string]guest.Method{
		"Which": guest.UnaryMethod(func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) },
			func(context.Context, *wrapperspb.StringValue) *guest.Future[*wrapperspb.StringValue] {
				for start := time.Now(); time.Since(start) < 5*time.Millisecond; {
				}
				return guest.Resolved(wrapperspb.String("v1"))
			}),
	})
	guest.Run()
}
