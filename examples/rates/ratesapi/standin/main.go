//go:build !wasip1

// Command standin serves the stand-in of the exchange-rate API on
// 127.0.0.1:8090, with the key demo-key, for a run of the rates app:
//
//	go run ./examples/rates/ratesapi/standin &
//	RATES_URL=http://127.0.0.1:8090/v1 RATES_API_KEY=demo-key parigot run ./examples/rates
package main

import (
	"log"
	"net/http"

	"parigot.dev/parigot/examples/rates/ratesapi"
)

func main() {
	log.Print("the rates API's stand-in listens on http://127.0.0.1:8090/v1")
	log.Fatal(http.ListenAndServe("127.0.0.1:8090", ratesapi.Handler("demo-key")))
}
