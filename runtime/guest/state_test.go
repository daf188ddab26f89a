package guest

import (
	"errors"
	"testing"

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
