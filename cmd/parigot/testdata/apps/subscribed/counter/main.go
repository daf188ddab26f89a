// Command counter answers Count, and Heard, which only the topic "said"
// may call.
package main

import (
	"context"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	empty := func(context.Context, []byte) *guest.Future[[]byte] { return guest.Completed([]byte{}, nil) }
	guest.Export("test.Counter", nil, map[string]guest.Method{"Heard": empty, "Count": empty})
	guest.Run()
}
