# helloworld: one service that greets, one program that asks for a greeting.

app "helloworld" {
  module = "parigot.dev/parigot/examples/helloworld"
}

proto "greeting" {
  root  = "proto"
  files = ["proto/greeting/v1/greeting.proto"]
}

service "greeting" {
  source         = "./greeting"
  implements     = ["greeting.v1.Greeting"]
  method_timeout = "50ms"
}

program "hello" {
  source   = "./hello"
  requires = [service.greeting]
}
