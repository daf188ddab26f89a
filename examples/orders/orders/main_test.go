package main

import (
	"testing"

	"parigot.dev/parigot/examples/orders/gen/ids"
	ordersv1 "parigot.dev/parigot/examples/orders/gen/orders/v1"
)

func TestPlaceOrderEchoesTheOrderId(t *testing.T) {
	id := ids.NewOrderId()
	resp, err := placeOrder(&ordersv1.PlaceOrderRequest{OrderId: id.Proto(), Item: "widget", Quantity: 2})
	if err != nil {
		t.Fatalf("placeOrder: %v", err)
	}
	got, err := ids.OrderIdFromProto(resp.GetOrderId())
	if err != nil || got != id {
		t.Errorf("reply carries %v (%v), want %v", got, err, id)
	}
	if want := "confirmed: 2 x widget"; resp.GetStatus() != want {
		t.Errorf("status = %q, want %q", resp.GetStatus(), want)
	}
}

func TestPlaceOrderRefusesAMissingId(t *testing.T) {
	if _, err := placeOrder(&ordersv1.PlaceOrderRequest{Item: "widget", Quantity: 1}); err == nil {
		t.Error("placeOrder without an OrderId succeeded")
	}
}
