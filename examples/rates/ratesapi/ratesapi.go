// Package ratesapi is a stand-in of the exchange-rate API the rates
// service calls: the topology test serves it on a port of its own, and
// its standin command serves it for parigot run. It answers
// GET /v1/latest?base=USD, with the key it is given as a bearer token,
// as {"base":"USD","rates":{"EUR":0.92,...}}.
package ratesapi

import (
	"encoding/json"
	"net/http"
)

// rates are the stand-in's rates of one USD; other bases are unknown.
var rates = map[string]float64{"EUR": 0.92, "GBP": 0.79, "JPY": 151.2}

// Handler answers as the API does, to requests with key.
func Handler(key string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/latest", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+key {
			http.Error(w, `{"error":"a valid API key is required"}`, http.StatusUnauthorized)
			return
		}
		base := r.URL.Query().Get("base")
		if base != "USD" {
			http.Error(w, `{"error":"unknown base"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"base": base, "rates": rates})
	})
	return mux
}
