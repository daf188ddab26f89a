// Command start calls front's Relay once and prints the reply.
package main

import (
	"fmt"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.LaunchClient().Success(func(struct{}) {
		front, err := guest.Locate("test.Front")
		if err != nil {
			fmt.Println("locate:", err)
			guest.ExitSelf(1)
			return
		}
		guest.Invoke(front, "Relay", wrapperspb.String("traced"), new(wrapperspb.StringValue)).
			Success(func(r *wrapperspb.StringValue) {
				fmt.Println("relayed:", r.GetValue())
				guest.ExitSelf(0)
			}).
			Failure(func(err error) {
				fmt.Println("relay failed:", err)
				guest.ExitSelf(1)
			})
	})
	guest.MustRunClient()
}
