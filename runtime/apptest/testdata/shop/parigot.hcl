# shop: a service that panics on one name and is slow on another, and a
# program that requires it.
# The tests make shop go down for good, then run the program.
app "shop" {
  module = "parigot.dev/parigot/runtime/apptest/testdata/shop"
}

proto "shop" {
  root  = "proto"
  files = ["proto/shop.proto"]
}

service "shop" {
  source     = "./shop"
  implements = ["test.Shop"]
}

program "hello" {
  source   = "./hello"
  requires = [service.shop]
}
