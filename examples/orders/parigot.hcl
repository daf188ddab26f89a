# orders: a typed Id across a call. checkout makes a new OrderId, sends it in
# its PlaceOrder request (as a parigot.id.v1.Id field), and the orders service
# echoes it in the reply.

app "orders" {
  module = "parigot.dev/parigot/examples/orders"
}

proto "orders" {
  root  = "proto"
  files = ["proto/orders/v1/orders.proto"]
}

# Generates OrderId into gen/ids (package ids): o-<28 hex digits>.
id "Order" {
  letter = "o"
}

service "orders" {
  source     = "./orders"
  implements = ["orders.v1.Orders"]
}

program "checkout" {
  source   = "./checkout"
  requires = [service.orders]
}
