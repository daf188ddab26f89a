# chain: a program calls a service that calls another service, so that one
# call is the parent of another across guests (the traces' tests).
app "chain" {
  module = "parigot.dev/parigot/cmd/parigot/testdata/apps/chain"
}

proto "chain" {
  root  = "proto"
  files = ["proto/chain.proto"]
}

service "front" {
  source     = "./front"
  implements = ["test.Front"]
  requires   = [service.back]
}

service "back" {
  source     = "./back"
  implements = ["test.Back"]
}

program "start" {
  source   = "./start"
  requires = [service.front]
}
