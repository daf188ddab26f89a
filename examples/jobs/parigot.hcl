# jobs: work that takes longer than a method budget. The primes service's
# Start method returns a JobId at once and does the counting in short
# background steps between calls; the client polls Status until it is done.

app "jobs" {
  module = "parigot.dev/parigot/examples/jobs"
}

proto "jobs" {
  root  = "proto"
  files = ["proto/jobs/v1/jobs.proto"]
}

id "Job" {
  letter = "j"
}

service "primes" {
  source         = "./primes"
  implements     = ["jobs.v1.Primes"]
  method_timeout = "50ms"
}

program "client" {
  source   = "./client"
  requires = [service.primes]
}
