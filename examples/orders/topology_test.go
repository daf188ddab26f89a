//go:build !wasip1

// The topology tests of orders: a typed OrderId crosses a real call, from
// native Go code and from the checkout program.
package orders_test

import (
	"errors"
	"regexp"
	"testing"

	"parigot.dev/parigot/examples/orders/gen/ids"
	ordersv1 "parigot.dev/parigot/examples/orders/gen/orders/v1"
	"parigot.dev/parigot/runtime/apptest"
	"parigot.dev/parigot/runtime/guest"
)

func TestOrders(t *testing.T) {
	app := apptest.Start(t, ".", apptest.Default)
	orders := ordersv1.NewOrdersNativeClient(app)

	t.Run("PlaceOrder echoes the OrderId it was given", func(t *testing.T) {
		id := ids.NewOrderId()
		resp, err := orders.PlaceOrder(t.Context(), &ordersv1.PlaceOrderRequest{OrderId: id.Proto(), Item: "widget", Quantity: 3})
		if err != nil {
			t.Fatalf("PlaceOrder: %v", err)
		}
		got, err := ids.OrderIdFromProto(resp.GetOrderId())
		if err != nil || !got.Equal(id) {
			t.Errorf("reply Id %v (err %v), want %v", got, err, id)
		}
		if resp.GetStatus() != "confirmed: 3 x widget" {
			t.Errorf("status %q", resp.GetStatus())
		}
	})

	t.Run("PlaceOrder without an OrderId fails with the service's error", func(t *testing.T) {
		_, err := orders.PlaceOrder(t.Context(), &ordersv1.PlaceOrderRequest{Item: "widget", Quantity: 1})
		var gerr *guest.Error
		if !errors.As(err, &gerr) || gerr.Code != guest.CodeInvalidArgument {
			t.Errorf("err = %v, want invalid argument", err)
		}
	})

	t.Run("the checkout program confirms its order and exits 0", func(t *testing.T) {
		res := app.RunProgram(t, "checkout")
		want := regexp.MustCompile(`^order o-[0-9a-f]{28} confirmed: 2 x widget\nthe reply echoes the order's Id\n$`)
		if !want.MatchString(res.Stdout) || res.ExitCode != 0 {
			t.Errorf("stdout %q, exit code %d (stderr %q)", res.Stdout, res.ExitCode, res.Stderr)
		}
	})
}
