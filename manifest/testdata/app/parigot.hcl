app "helloworld" {
  module = "parigot.dev/parigot/examples/helloworld"
}

proto "greeting" {
  root  = "proto"
  files = ["proto/greeting/v1/greeting.proto", "proto/other/v1/other.proto"]
}

id "Order" {
  letter = "o"
}

id "Customer" {
  letter = "c"
}

program "hello" {
  source   = "./hello"
  requires = [service.greeting, service.other]
}

service "greeting" {
  source         = "./greeting"
  implements     = ["greeting.v1.Greeting"]
  requires       = [service.other]
  method_timeout = "2s"
  replicas       = 3
  on_overrun     = "report"
  restart        = "on-failure"
  memory_limit   = "64MiB"
}

service "other" {
  source     = "./other"
  implements = ["other.v1.Other", "other.v1.Admin"]
}
