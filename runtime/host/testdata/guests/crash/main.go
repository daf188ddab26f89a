// Command crash is a test service whose only method panics.
package main

import (
	"context"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.Export("test.Crash", nil, map[string]guest.Method{
		"Boom": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			panic("boom in a method")
		},
	})
	guest.Run()
}
