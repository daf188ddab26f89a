# parigot's own manifest: the parts of parigot that parigot generates itself.
# Regenerate them from the repository root with
#
#     go run ./cmd/parigot build
#
# and commit the result; TestRepoGeneratedCodeIsUpToDate (builder) fails when
# the checked-in files differ from what the generator produces now.

app "parigot" {
  module = "parigot.dev/parigot"
}

# The shipped proto that every app can import as "parigot/id/v1/id.proto":
# the wire form of typed Ids. Generated into proto/parigot/id/v1 (idv1).
proto "id" {
  root  = "proto"
  files = ["proto/parigot/id/v1/id.proto"]
}

# The shipped proto of typed errors, "parigot/errors/v1/errors.proto": the
# code option that makes a message an error. Generated into
# proto/parigot/errors/v1 (errorsv1).
proto "errors" {
  root  = "proto"
  files = ["proto/parigot/errors/v1/errors.proto"]
}

# The runtime's built-in Id types, generated into runtime/id (package id).
# Their letters are reserved: an app's id blocks must use others.

id "Host" {
  letter  = "h"
  package = "runtime/id"
}

id "Service" {
  letter  = "s"
  package = "runtime/id"
}

id "Method" {
  letter  = "m"
  package = "runtime/id"
}

id "Call" {
  letter  = "c"
  package = "runtime/id"
}

# The message the benchmarks carry (runtime/host/bench_test.go and the bench
# module), generated like an app's, fast marshalling included: it is what a
# call of generated code costs. Generated into runtime/host/testdata/benchpb.
proto "bench" {
  root  = "runtime/host/testdata"
  files = ["runtime/host/testdata/benchpb/bench.proto"]
}
