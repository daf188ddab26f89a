package guest

import (
	"context"
	"reflect"
	"testing"

	"parigot.dev/parigot/runtime/internal/abi"
)

func TestAMethodReadsTheHeadersItsCallCarries(t *testing.T) {
	var l eventLoop
	h := abi.AppendHeader(nil, "authorization", "Bearer abc")
	h = abi.AppendHeader(h, "x-tag", "one")
	h = abi.AppendHeader(h, "x-tag", "two")
	ctx := l.callContext(context.Background(), 0, h)
	clear(h) // the poll buffer, which the next event overwrites
	if got := Header(ctx, "Authorization"); got != "Bearer abc" {
		t.Errorf(`Header(ctx, "Authorization") = %q, want "Bearer abc" (names are case-insensitive)`, got)
	}
	if got := Header(ctx, "x-tag"); got != "one" {
		t.Errorf(`Header(ctx, "x-tag") = %q, want its first value, "one"`, got)
	}
	if got := Header(ctx, "cookie"); got != "" {
		t.Errorf(`Header(ctx, "cookie") = %q for a header the call does not carry, want ""`, got)
	}
	want := map[string][]string{"authorization": {"Bearer abc"}, "x-tag": {"one", "two"}}
	if got := Headers(ctx); !reflect.DeepEqual(got, want) {
		t.Errorf("Headers(ctx) = %q, want %q", got, want)
	}
	if _, ok := ctx.Deadline(); ok {
		t.Errorf("a call without a deadline has a context with one")
	}
	// A context made from the method's carries them too.
	type k struct{}
	if got := Header(context.WithValue(ctx, k{}, 1), "authorization"); got != "Bearer abc" {
		t.Errorf("through a derived context, Header = %q, want \"Bearer abc\"", got)
	}
}

func TestACallWithoutHeadersHasNone(t *testing.T) {
	var l eventLoop
	for _, ctx := range []context.Context{context.Background(), l.callContext(context.Background(), 5, nil)} {
		if got := Header(ctx, "authorization"); got != "" {
			t.Errorf("Header = %q, want \"\"", got)
		}
		if got := Headers(ctx); len(got) != 0 {
			t.Errorf("Headers = %q, want none", got)
		}
	}
}

func TestWithHeaderAddsToWhatTheContextCarries(t *testing.T) {
	ctx := WithHeader(context.Background(), "Authorization", "Bearer a")
	ctx = WithHeader(ctx, "X-Request-Id", "r1")
	want := map[string][]string{"authorization": {"Bearer a"}, "x-request-id": {"r1"}}
	if got := Headers(ctx); !reflect.DeepEqual(got, want) {
		t.Errorf("Headers = %q, want %q", got, want)
	}
}
