// Command front answers Relay by relaying it to back: its call to back is
// made while it serves the program's, so back's span is a child of its own.
package main

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	var back guest.Client
	guest.Export("test.Front", ready(func(context.Context) bool {
		var err error
		back, err = guest.Locate("test.Back")
		if err != nil {
			fmt.Println("locate:", err)
			return false
		}
		return true
	}), map[string]guest.Method{
		"Relay": guest.UnaryMethod(func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) },
			func(_ context.Context, req *wrapperspb.StringValue) *guest.Future[*wrapperspb.StringValue] {
				out := guest.NewFuture[*wrapperspb.StringValue]()
				guest.Invoke(back, "Relay", req, new(wrapperspb.StringValue)).
					Success(func(r *wrapperspb.StringValue) { out.Resolve(r) }).
					Failure(func(err error) { out.Reject(err) })
				return out
			}),
	})
	guest.Run()
}

type ready func(context.Context) bool

func (r ready) Ready(ctx context.Context) bool { return r(ctx) }
