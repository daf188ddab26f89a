package guest

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/internal/abi"
)

func TestAStoreRefusesABadKeyAndABigValueBeforeAskingTheHost(t *testing.T) {
	s := &Store{name: "accounts"}
	var got error
	s.Get("a b").Failure(func(err error) { got = err })
	if !errors.Is(got, ErrInvalidArgument) {
		t.Errorf("Get of a bad key: %v, want invalid argument", got)
	}
	got = nil
	s.Keys("a b").Failure(func(err error) { got = err })
	if !errors.Is(got, ErrInvalidArgument) {
		t.Errorf("Keys of a bad filter: %v, want invalid argument", got)
	}
	got = nil
	s.Put("big", make([]byte, abi.MaxValue+1)).Failure(func(err error) { got = err })
	if !errors.Is(got, ErrResourceExhausted) {
		t.Errorf("Put of a value over the limit: %v, want resource exhausted", got)
	}
}

func TestOpeningAStoreWithoutAHostSaysSo(t *testing.T) {
	if _, err := OpenStore("accounts"); err == nil {
		t.Error("OpenStore succeeded with no host")
	}
}

func TestAValueOfAnotherShapeSaysItsStoreAndKeyAndHowToSeeIt(t *testing.T) {
	s := &Store{name: "stock"}
	_, err := decodeEntry(s, "item.apple", Entry{Value: []byte("70"), Revision: 3}, &wrapperspb.StringValue{})
	if !errors.Is(err, ErrDataLoss) {
		t.Fatalf("decoding text as a message: %v, want data loss", err)
	}
	msg := err.(*Error).Message
	for _, want := range []string{`"item.apple" in store stock`, "another shape", "'parigot state get stock item.apple'"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not say %q", msg, want)
		}
	}
}

func TestAStoreThatDeclaresItsValueTypeRefusesAMessageOfAnotherAtOnce(t *testing.T) {
	s := &Store{name: "counts", value: "google.protobuf.Int64Value"}
	other := wrapperspb.String("seven")
	for _, c := range []struct {
		name string
		call func() *Future[struct{}]
	}{
		{"PutMessage", func() *Future[struct{}] { return ignore(PutMessage(s, "k", other)) }},
		{"CreateMessage", func() *Future[struct{}] { return ignore(CreateMessage(s, "k", other)) }},
		{"UpdateMessage", func() *Future[struct{}] { return ignore(UpdateMessage(s, "k", other, 3)) }},
		{"GetMessage", func() *Future[struct{}] { return ignore(GetMessage(s, "k", &wrapperspb.StringValue{})) }},
	} {
		t.Run(c.name+" of a StringValue fails with invalid argument", func(t *testing.T) {
			var got error
			c.call().Failure(func(err error) { got = err })
			if !errors.Is(got, ErrInvalidArgument) {
				t.Fatalf("%v, want invalid argument", got)
			}
			msg := got.(*Error).Message
			for _, want := range []string{"store counts holds google.protobuf.Int64Value values", "not google.protobuf.StringValue", "pass a google.protobuf.Int64Value", "change its value line in parigot.hcl"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not say %q", msg, want)
				}
			}
		})
	}
	t.Run("a message of its type goes to the host", func(t *testing.T) {
		var got error
		PutMessage(s, "k", wrapperspb.Int64(7)).Failure(func(err error) { got = err })
		if errors.Is(got, ErrInvalidArgument) {
			t.Errorf("PutMessage of an Int64Value: %v, want it sent (and refused here for want of a host)", got)
		}
	})
	t.Run("a store that declares no type takes any message", func(t *testing.T) {
		var got error
		PutMessage(&Store{name: "kv"}, "k", other).Failure(func(err error) { got = err })
		if errors.Is(got, ErrInvalidArgument) {
			t.Errorf("PutMessage of a StringValue in an untyped store: %v, want it sent", got)
		}
	})
}

// ignore turns a future into one of its outcome alone.
func ignore[T any](f *Future[T]) *Future[struct{}] {
	out := NewFuture[struct{}]()
	f.whenDone(func(_ T, err error) {
		if err != nil {
			out.Reject(err)
			return
		}
		out.Resolve(struct{}{})
	})
	return out
}

// BenchmarkAStoresValueCheck is what the type check adds to each Message
// operation of a store that declares its value: run with -bench to see
// it beside the ns of a store that declares none.
func BenchmarkAStoresValueCheck(b *testing.B) {
	m := wrapperspb.Int64(7)
	for _, s := range []*Store{{name: "kv"}, {name: "counts", value: "google.protobuf.Int64Value"}} {
		b.Run("value "+strconv.Quote(s.value), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := s.checkValue(abi.OpPut, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
