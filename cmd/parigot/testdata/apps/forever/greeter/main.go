// Command greeter is a service that serves nothing in particular: it is
// there so that an interrupt has a service to stop.
package main

import "parigot.dev/parigot/runtime/guest"

func main() {
	guest.Export("test.Greeter", nil, nil)
	guest.Run()
}
