// Command hello asks shop to greet the world, prints the greeting and exits
// 0; when the call fails, it prints why on stderr and exits 1.
package main

import (
	"fmt"
	"os"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.LaunchClient().Success(func(struct{}) {
		shop, err := guest.Locate("test.Shop")
		if err != nil {
			fmt.Fprintln(os.Stderr, "locate:", err)
			guest.ExitSelf(1)
			return
		}
		guest.Invoke(shop, "Greet", wrapperspb.String("world"), new(wrapperspb.StringValue)).
			Success(func(r *wrapperspb.StringValue) {
				fmt.Println(r.GetValue())
				guest.ExitSelf(0)
			}).
			Failure(func(err error) {
				fmt.Fprintln(os.Stderr, "Greet failed:", err)
				guest.ExitSelf(1)
			})
	})
	guest.MustRunClient()
}
