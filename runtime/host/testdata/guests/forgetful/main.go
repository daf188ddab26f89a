// Command forgetful is a program that forgot guest.MustRunClient: its main
// queues LaunchClient's callback and returns, and nothing in it calls
// ExitSelf.
package main

import (
	"fmt"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.LaunchClient().Success(func(struct{}) { fmt.Println("never printed") })
}
