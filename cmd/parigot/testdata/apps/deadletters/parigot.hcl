# deadletters: a subscriber that refuses each message twice, its
# max_attempts, so that the message is dead-lettered, and takes it the
# third time, once parigot state redeliver has published it again. The
# sender has the sink publish "hello" (sink's Send, so that the message
# carries the span of that call) in the first run, and waits until the
# sink has taken it.
app "deadletters" {
  module = "parigot.dev/parigot/cmd/parigot/testdata/apps/deadletters"
}

proto "sink" {
  root  = "proto"
  files = ["proto/sink.proto"]
}

store "kv" {}

# notes holds Notes only: parigot state get shows its values as Notes.
store "notes" {
  value = "test.Note"
}

topic "news" {}

service "sink" {
  source     = "./sink"
  implements = ["test.Sink"]
  uses       = [store.kv, topic.news]

  subscribe {
    topic        = topic.news
    method       = "test.Sink/Take"
    max_attempts = 2
  }
}

program "sender" {
  source   = "./sender"
  requires = [service.sink]
  uses     = [store.kv]
}
