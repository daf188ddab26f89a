# bookstore: a small backend. One service keeps the books; a gateway lets
# clients outside the app call it over HTTP: gRPC, gRPC-Web, Connect, and
# the REST paths its proto maps with google.api.http.

app "bookstore" {
  module = "parigot.dev/parigot/examples/bookstore"
}

proto "bookstore" {
  root  = "proto"
  files = ["proto/bookstore/v1/bookstore.proto"]
}

service "books" {
  source     = "./books"
  implements = ["bookstore.v1.Bookstore"]
}

gateway "public" {
  listen       = "127.0.0.1:8080"
  services     = [service.books]
  cors_origins = ["http://localhost:5173"] # the web app's dev server
}
