// Command greeter answers Hi with an empty message, through the gateway,
// panics at Crash, and at WhoAmI checks the Authorization header the
// gateway passes on.
package main

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.Export("test.Greeter", nil, map[string]guest.Method{
		"Hi":     func(context.Context, []byte) *guest.Future[[]byte] { return guest.Completed([]byte{}, nil) },
		"Crash":  func(context.Context, []byte) *guest.Future[[]byte] { panic("asked to crash") },
		"WhoAmI": whoAmI,
	})
	guest.Run()
}

// whoAmI refuses a call without Authorization, and answers one with it
// with a google.protobuf.StringValue of the headers it got.
func whoAmI(ctx context.Context, _ []byte) *guest.Future[[]byte] {
	if guest.Header(ctx, "Authorization") == "" {
		return guest.Completed[[]byte](nil, guest.Errorf(guest.CodeUnauthenticated, "WhoAmI needs an Authorization header"))
	}
	var pairs []string
	for name, values := range guest.Headers(ctx) {
		for _, v := range values {
			pairs = append(pairs, name+"="+v)
		}
	}
	slices.Sort(pairs)
	reply := protowire.AppendTag(nil, 1, protowire.BytesType)
	return guest.Completed(protowire.AppendString(reply, strings.Join(pairs, ";")), nil)
}
