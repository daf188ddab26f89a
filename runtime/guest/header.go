package guest

import (
	"context"
	"strings"

	"parigot.dev/parigot/runtime/internal/abi"
)

// headerKey is the context key of a call's request headers: the value is
// the header as abi.AppendHeader encodes it, a string.
type headerKey struct{}

// Header returns the value of the request header name that a gateway
// passed on to the call whose context ctx is (a method's ctx, or one made
// from it), or "" when the call carries no such header. name is
// case-insensitive ("Authorization" and "authorization" are the same
// header); a header the client sent twice gives its first value (Headers
// gives all).
//
// Only the headers the gateway's block lists in headers (parigot.hcl)
// reach a method, and only on calls from outside, through that gateway: a
// call from another guest carries none, and the calls a method makes do
// not pass its headers on.
func Header(ctx context.Context, name string) string {
	h, _ := ctx.Value(headerKey{}).(string)
	if h == "" {
		return ""
	}
	name = strings.ToLower(name)
	var found string
	abi.HeaderValues(h, func(n, v string) bool {
		if n == name {
			found = v
			return false
		}
		return true
	})
	return found
}

// Headers returns every request header a gateway passed on to the call
// whose context ctx is: a new map from lowercase names to their values,
// in the order the client sent them; empty when the call carries none.
// It is the call's own: changing it changes nothing else.
func Headers(ctx context.Context) map[string][]string {
	m := map[string][]string{}
	if h, _ := ctx.Value(headerKey{}).(string); h != "" {
		abi.HeaderValues(h, func(n, v string) bool {
			m[n] = append(m[n], v)
			return true
		})
	}
	return m
}

// WithHeader returns a copy of ctx whose call carries the request header
// name: value too, as if a gateway had passed it on: for testing a
// method natively with the headers a client would send. It changes what
// Header and Headers read from the context, and nothing else: no call
// carries it.
func WithHeader(ctx context.Context, name, value string) context.Context {
	h, _ := ctx.Value(headerKey{}).(string)
	return context.WithValue(ctx, headerKey{}, h+string(abi.AppendHeader(nil, strings.ToLower(name), value)))
}
