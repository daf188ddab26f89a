// Command waiter says it is running, then waits forever without blocking its
// event loop.
package main

import (
	"fmt"
	"time"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.LaunchClient().Success(func(struct{}) {
		fmt.Println("running")
		var again func()
		again = func() { guest.After(time.Hour, again) }
		again()
	})
	guest.MustRunClient()
}
