# rates: a service that calls an external HTTP API. The rates service asks
# an exchange-rate API for a rate, with an API key from the environment,
# and the convert program prints a conversion. The API is declared once,
# below; url_env points it at another server for a run:
#
#   go run ./examples/rates/ratesapi/standin &   # a stand-in of the API, on 127.0.0.1:8090
#   RATES_URL=http://127.0.0.1:8090/v1 RATES_API_KEY=demo-key parigot run ./examples/rates

app "rates" {
  module = "parigot.dev/parigot/examples/rates"
}

proto "rates" {
  root  = "proto"
  files = ["proto/rates/v1/rates.proto"]
}

http "rates" {
  url         = "https://rates.example.com/v1"
  url_env     = "RATES_URL"
  ca_file_env = "RATES_CA_FILE" # a test's https stand-in: the PEM of its certificate
  timeout     = "2s"
}

service "rates" {
  source     = "./rates"
  implements = ["rates.v1.Rates"]
  uses       = [http.rates]
  pass_env   = ["RATES_API_KEY"]
  # A request ends at the deadline of the method that sent it when that
  # comes first: the budget covers the API's timeout.
  method_timeout = "3s"
}

program "convert" {
  source   = "./convert"
  requires = [service.rates]
}
