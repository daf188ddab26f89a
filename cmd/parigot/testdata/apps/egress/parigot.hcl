# egress: a program that calls an external API, for the tests of what is
# observed of its requests. EGRESS_API_URL points it at the test's server.
app "egress" {
  module = "parigot.dev/parigot/cmd/parigot/testdata/apps/egress"
}

http "api" {
  url     = "https://api.example.invalid/v1"
  url_env = "EGRESS_API_URL"
  timeout = "1m"
}

program "caller" {
  source = "./caller"
  uses   = [http.api]
}
