# subscribed: a service behind a gateway, with a method that a topic's
# subscription delivers to: the gateway serves Count, and refuses Heard to
# its clients, who could otherwise forge the topic's messages.
app "subscribed" {
  module = "parigot.dev/parigot/cmd/parigot/testdata/apps/subscribed"
}

proto "counter" {
  root  = "proto"
  files = ["proto/counter.proto"]
}

topic "said" {}

service "counter" {
  source     = "./counter"
  implements = ["test.Counter"]
  uses       = [topic.said]

  subscribe {
    topic  = topic.said
    method = "test.Counter/Heard"
  }
}

gateway "public" {
  listen   = "127.0.0.1:0"
  services = [service.counter]
}
