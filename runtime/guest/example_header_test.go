package guest_test

import (
	"context"
	"fmt"
	"strings"

	"parigot.dev/parigot/runtime/guest"
)

// whoAmI is a method's check of a bearer token: the gateway passes
// Authorization on when its block lists it in headers (parigot.hcl), and
// the method decides what it means.
func whoAmI(ctx context.Context) (string, error) {
	token, ok := strings.CutPrefix(guest.Header(ctx, "Authorization"), "Bearer ")
	if !ok || token != "s3cret" { // a real service verifies a signed token here
		return "", guest.Errorf(guest.CodeUnauthenticated, "a valid bearer token is required (Authorization: Bearer <token>)")
	}
	return "alice", nil
}

// A method reads the request headers its call carries from its context.
// In a unit test, WithHeader gives a context the headers a client would send.
func ExampleHeader() {
	_, err := whoAmI(context.Background())
	fmt.Println(guest.CodeOf(err), err)

	ctx := guest.WithHeader(context.Background(), "Authorization", "Bearer s3cret")
	user, err := whoAmI(ctx)
	fmt.Println(user, err)
	// Output:
	// unauthenticated unauthenticated: a valid bearer token is required (Authorization: Bearer <token>)
	// alice <nil>
}
