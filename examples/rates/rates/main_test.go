package main

import (
	"errors"
	"testing"

	ratesv1 "parigot.dev/parigot/examples/rates/gen/rates/v1"
	"parigot.dev/parigot/runtime/guest"
)

func TestConvert(t *testing.T) {
	req := &ratesv1.ConvertRequest{From: "USD", To: "EUR", Amount: 100}
	t.Run("converts at the API's rate", func(t *testing.T) {
		resp, err := convert(req, 200, []byte(`{"base":"USD","rates":{"EUR":0.92,"JPY":151.2}}`))
		if err != nil || resp.GetAmount() != 92 || resp.GetRate() != 0.92 {
			t.Errorf("convert = %v, %v; want 92 at 0.92", resp, err)
		}
	})
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"a currency the API does not rate is not found", 200, `{"rates":{"JPY":151.2}}`, guest.ErrNotFound},
		{"an API that refuses the key is unavailable", 401, `{"error":"bad key"}`, guest.ErrUnavailable},
		{"an answer that is no JSON is internal", 200, `<html>`, guest.ErrInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := convert(req, tc.status, []byte(tc.body)); !errors.Is(err, tc.want) {
				t.Errorf("convert: %v, want %v", err, tc.want)
			}
		})
	}
}
