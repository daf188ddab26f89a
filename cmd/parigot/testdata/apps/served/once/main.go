// Command once says it ran and ends at once: the gateway serves on.
package main

import (
	"fmt"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	fmt.Println("ran")
	guest.ExitSelf(0)
}
