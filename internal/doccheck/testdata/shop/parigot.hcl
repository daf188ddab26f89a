# The services the docs' Go examples call that no app of examples/ serves.
# The doccheck tests generate their Go code, and compile the examples
# against it (and against the examples' generated code).

app "shop" {
  module = "example.com/shop"
}

proto "shop" {
  root = "proto"
  files = [
    "proto/stock/v1/stock.proto",
    "proto/checkout/v1/checkout.proto",
    "proto/payments/v1/payments.proto",
    "proto/bank/v1/bank.proto",
  ]
}

service "stock" {
  source     = "./stock"
  implements = ["stock.v1.Stock"]
}

service "checkout" {
  source     = "./checkout"
  implements = ["checkout.v1.Checkout"]
}

service "payments" {
  source     = "./payments"
  implements = ["payments.v1.Payments"]
}

service "bank" {
  source     = "./bank"
  implements = ["bank.v1.Accounts"]
}
