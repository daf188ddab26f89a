# bank: state that survives. The accounts service keeps balances in a store
# and publishes each transfer on a topic; the audit service receives every
# transfer, at least once, and counts them in a store of its own. The teller
# program counts its runs in the accounts store, makes two transfers and
# prints the balances: a second run starts from the first one's.

app "bank" {
  module = "parigot.dev/parigot/examples/bank"
}

proto "bank" {
  root  = "proto"
  files = ["proto/bank/v1/bank.proto"]
}

store "accounts" {}

# audit holds the transfers recorded, each a bank.v1.Transfer: parigot
# state get audit KEY shows one as JSON.
store "audit" {
  value = "bank.v1.Transfer"
}

# Kept 30 days: the audit service takes each transfer within moments, and
# a month leaves time to read and redeliver the dead letters.
topic "transfers" {
  max_age = "720h"
}

service "accounts" {
  source     = "./accounts"
  implements = ["bank.v1.Accounts"]
  uses       = [store.accounts, topic.transfers]
  # Five store and topic operations per transfer, each a write to disk.
  method_timeout = "500ms"
}

service "audit" {
  source     = "./audit"
  implements = ["bank.v1.Audit"]
  uses       = [store.audit, topic.transfers]
  restart    = "on-failure"
  method_timeout = "500ms"

  # Every transfer published on the topic is a call of Record.
  subscribe {
    topic        = topic.transfers
    method       = "bank.v1.Audit/Record"
    max_attempts = 5
  }
}

program "teller" {
  source   = "./teller"
  requires = [service.accounts, service.audit]
  uses     = [store.accounts]
}
