// Command echo is a test service that answers test.Echo with raw methods.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

var (
	spin  int
	hoard [][]byte
)

func main() {
	self := make([]byte, 8)
	rand.Read(self)
	guest.Export("test.Echo", nil, map[string]guest.Method{
		"Echo": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			return guest.Resolved(req)
		},
		// EchoProto does what a generated method does: it decodes the
		// request, builds a reply message and encodes it.
		"EchoProto": guest.UnaryMethod(func() *wrapperspb.BytesValue { return new(wrapperspb.BytesValue) },
			func(_ context.Context, req *wrapperspb.BytesValue) *guest.Future[*wrapperspb.BytesValue] {
				return guest.Resolved(wrapperspb.Bytes(req.GetValue()))
			}),
		"Who": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			// A BytesValue holding this replica's random name.
			return guest.Resolved(append([]byte{0x0a, 16}, hex.EncodeToString(self)...))
		},
		"Spin": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			for spin = 0; ; spin++ { // never returns: the host must stop it
			}
		},
		"Hog": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			for { // allocates until the memory limit ends it
				hoard = append(hoard, make([]byte, 1<<20))
			}
		},
		"Busy": func(_ context.Context, req []byte) *guest.Future[[]byte] {
			for start := time.Now(); time.Since(start) < 300*time.Millisecond; spin++ {
			}
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
