package guest

import (
	"errors"
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
