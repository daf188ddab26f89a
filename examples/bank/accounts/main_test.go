package main

import (
	"errors"
	"testing"

	bankv1 "parigot.dev/parigot/examples/bank/gen/bank/v1"
	"parigot.dev/parigot/runtime/guest"
)

func TestTransferMovesTheAmount(t *testing.T) {
	from, to, err := transfer(100, 5, 30)
	if err != nil || from != 70 || to != 35 {
		t.Errorf("transfer(100, 5, 30) = %d, %d, %v; want 70, 35", from, to, err)
	}
}

func TestTransferRefusesAnAmountOverTheBalance(t *testing.T) {
	if _, _, err := transfer(10, 0, 11); !errors.Is(err, guest.ErrFailedPrecondition) {
		t.Errorf("err = %v, want failed precondition", err)
	}
}

func TestCheckTransferRefusesNonsense(t *testing.T) {
	for _, tr := range []*bankv1.Transfer{
		{From: "a", To: "b", Amount: 1},
		{Id: "1", From: "a", To: "a", Amount: 1},
		{Id: "1", From: "a", To: "b", Amount: 0},
	} {
		if err := checkTransfer(tr); !errors.Is(err, guest.ErrInvalidArgument) {
			t.Errorf("checkTransfer(%v) = %v, want invalid argument", tr, err)
		}
	}
}
