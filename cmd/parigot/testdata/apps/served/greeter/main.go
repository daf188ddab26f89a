// Command greeter answers Hi with an empty message, through the gateway,
// and panics at Crash.
package main

import (
	"context"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.Export("test.Greeter", nil, map[string]guest.Method{
		"Hi":    func(context.Context, []byte) *guest.Future[[]byte] { return guest.Completed([]byte{}, nil) },
		"Crash": func(context.Context, []byte) *guest.Future[[]byte] { panic("asked to crash") },
	})
	guest.Run()
}
