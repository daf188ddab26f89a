// Command checkout is the orders app's program: it places one order under a
// new OrderId and checks that the reply carries the same Id.
package main

import (
	"fmt"
	"os"

	"parigot.dev/parigot/examples/orders/gen/ids"
	ordersv1 "parigot.dev/parigot/examples/orders/gen/orders/v1"
	"parigot.dev/parigot/runtime/guest"
)

func main() {
	guest.LaunchClient().Success(func(struct{}) {
		orders, err := ordersv1.LocateOrders()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			guest.ExitSelf(1)
		}
		id := ids.NewOrderId()
		orders.PlaceOrder(&ordersv1.PlaceOrderRequest{OrderId: id.Proto(), Item: "widget", Quantity: 2}).
			Success(func(resp *ordersv1.PlaceOrderResponse) {
				echoed, err := ids.OrderIdFromProto(resp.GetOrderId())
				if err != nil {
					fmt.Fprintln(os.Stderr, "the reply's Id:", err)
					guest.ExitSelf(1)
				}
				fmt.Printf("order %s %s\n", echoed, resp.GetStatus())
				if !echoed.Equal(id) {
					fmt.Printf("the reply carries %s, not the order's Id %s\n", echoed, id)
					guest.ExitSelf(1)
				}
				fmt.Println("the reply echoes the order's Id")
				guest.ExitSelf(0)
			}).
			Failure(func(err error) {
				fmt.Fprintln(os.Stderr, "PlaceOrder failed:", err)
				guest.ExitSelf(1)
			})
	})
	guest.MustRunClient()
}
