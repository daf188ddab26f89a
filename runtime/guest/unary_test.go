package guest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	idv1 "parigot.dev/parigot/proto/parigot/id/v1"
)

// The loop serves a method UnaryMethod made through its unary, found by
// the method's funcID (see Export); a Method written by hand has none.
func TestTheLoopFindsTheUnaryOfAMethodUnaryMethodMade(t *testing.T) {
	double := UnaryMethod(func() *idv1.Id { return new(idv1.Id) },
		func(_ context.Context, req *idv1.Id) *Future[*idv1.Id] {
			return Resolved(&idv1.Id{High: req.GetHigh() * 2, Low: req.GetLow() * 2})
		})
	byHand := Method(func(context.Context, []byte) *Future[[]byte] { return Resolved([]byte("by hand")) })
	if unaries[funcID(double)].unary == nil {
		t.Fatal("no unary for a method UnaryMethod made: the loop would serve it through a future")
	}
	if unaries[funcID(byHand)].unary != nil {
		t.Fatal("a method written by hand has a unary")
	}
	in, _ := proto.Marshal(&idv1.Id{High: 3, Low: 4})
	want, _ := proto.Marshal(&idv1.Id{High: 6, Low: 8})

	buf := make([]byte, 0, 64)
	out, err, later := unaries[funcID(double)].unary.serve(context.Background(), in, buf)
	if err != nil || later != nil {
		t.Fatalf("serve: err %v, later %v; want a reply at once", err, later)
	}
	if !bytes.Equal(out, want) || &out[:1][0] != &buf[:1][0] {
		t.Errorf("serve replied %x, want %x in the buffer it was given", out, want)
	}
	f := double(context.Background(), in) // called as a Method: the same reply
	if !f.Done() || !bytes.Equal(f.value, want) {
		t.Errorf("the method replied %x (done %v), want %x", f.value, f.Done(), want)
	}
}

func TestAUnaryAnswersLaterOrFailsAsItsMethodDoes(t *testing.T) {
	pending := NewFuture[*wrapperspb.StringValue]()
	later := UnaryMethod(func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) },
		func(context.Context, *wrapperspb.StringValue) *Future[*wrapperspb.StringValue] { return pending })
	u := unaries[funcID(later)].unary

	t.Run("a reply that comes later", func(t *testing.T) {
		out, err, f := u.serve(context.Background(), nil, nil)
		if f == nil || out != nil || err != nil {
			t.Fatalf("serve returned %x, %v, future %v; want only a future", out, err, f)
		}
		pending.Resolve(wrapperspb.String("later"))
		want, _ := proto.Marshal(wrapperspb.String("later"))
		if !f.Done() || !bytes.Equal(f.value, want) {
			t.Errorf("the future holds %x (done %v), want %x", f.value, f.Done(), want)
		}
	})
	t.Run("a request that does not decode", func(t *testing.T) {
		_, err, f := u.serve(context.Background(), []byte{0xff}, nil)
		var e *Error
		if f != nil || !errors.As(err, &e) || e.Code != CodeInvalidArgument {
			t.Errorf("serve returned %v, future %v; want invalid argument at once", err, f)
		}
	})
}
