// Command orders is the orders app's service: it answers PlaceOrder, echoing
// the caller's OrderId.
package main

import (
	"context"
	"fmt"

	"parigot.dev/parigot/examples/orders/gen/ids"
	ordersv1 "parigot.dev/parigot/examples/orders/gen/orders/v1"
	"parigot.dev/parigot/runtime/guest"
)

func main() {
	ordersv1.RunOrders(&server{})
}

type server struct{}

// PlaceOrder is the protocol half of the method.
func (s *server) PlaceOrder(ctx context.Context, req *ordersv1.PlaceOrderRequest) *guest.Future[*ordersv1.PlaceOrderResponse] {
	return guest.Completed(placeOrder(req))
}

// placeOrder is the plain Go half: it checks the order and echoes its Id.
func placeOrder(req *ordersv1.PlaceOrderRequest) (*ordersv1.PlaceOrderResponse, error) {
	id, err := ids.OrderIdFromProto(req.GetOrderId())
	if err != nil {
		return nil, err
	}
	if id.IsZero() {
		return nil, guest.Errorf(guest.CodeInvalidArgument, "an order needs an OrderId")
	}
	if req.GetItem() == "" || req.GetQuantity() <= 0 {
		return nil, guest.Errorf(guest.CodeInvalidArgument, "order %s: an item and a positive quantity are required", id)
	}
	return &ordersv1.PlaceOrderResponse{
		OrderId: id.Proto(),
		Status:  fmt.Sprintf("confirmed: %d x %s", req.GetQuantity(), req.GetItem()),
	}, nil
}
