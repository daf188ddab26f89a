// Command echo is a test service that answers test.Echo with raw methods.
package main

import (
	"context"
	"errors"
	"time"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.Export("test.Echo", nil, map[string]guest.Method{
		"Echo": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			return guest.Resolved(req)
		},
		"Slow": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			time.Sleep(300 * time.Millisecond)
			return guest.Resolved(req)
		},
		"Fail": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			return guest.Rejected[[]byte](errors.New("the echo service refuses"))
		},
		"Never": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			return guest.NewFuture[[]byte]() // never completed: the caller's deadline must fire
		},
	})
	guest.Run()
}
