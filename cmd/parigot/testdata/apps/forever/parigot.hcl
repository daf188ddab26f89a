# forever: a program that never ends on its own, for the interrupt tests.
app "forever" {
  module = "parigot.dev/parigot/cmd/parigot/testdata/apps/forever"
}

service "greeter" {
  source     = "./greeter"
  implements = ["test.Greeter"]
}

program "waiter" {
  source   = "./waiter"
  requires = [service.greeter]
}

proto "greeter" {
  root  = "proto"
  files = ["proto/greeter.proto"]
}
