# served: a service behind a gateway, and a program that ends at once: the
# app serves on after its program ends, until interrupted.
app "served" {
  module = "parigot.dev/parigot/cmd/parigot/testdata/apps/served"
}

proto "greeter" {
  root  = "proto"
  files = ["proto/greeter.proto"]
}

service "greeter" {
  source     = "./greeter"
  implements = ["test.Greeter"]
}

program "once" {
  source = "./once"
}

gateway "public" {
  listen   = "127.0.0.1:0"
  services = [service.greeter]
  headers  = ["authorization", "x-request-id"]
}
