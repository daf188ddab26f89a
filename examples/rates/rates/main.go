// Command rates is the rates app's service: it converts amounts at the
// rates of an external API (the http block "rates" of parigot.hcl), whose
// key it takes from its environment (pass_env).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"

	ratesv1 "parigot.dev/parigot/examples/rates/gen/rates/v1"
	"parigot.dev/parigot/runtime/guest"
)

func main() {
	ratesv1.RunRates(&server{apiKey: os.Getenv("RATES_API_KEY")})
}

type server struct {
	api    *guest.HTTP
	apiKey string
}

// Ready opens the API once; Convert sends its requests on it.
func (s *server) Ready(ctx context.Context) bool {
	var err error
	if s.api, err = guest.OpenHTTP("rates"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return false
	}
	return true
}

// Convert is the protocol half: it asks the API for the rates of
// req.From and hands its answer to convert. The future completes when the
// response comes; the service answers other calls meanwhile.
func (s *server) Convert(ctx context.Context, req *ratesv1.ConvertRequest) *guest.Future[*ratesv1.ConvertResponse] {
	out := guest.NewFuture[*ratesv1.ConvertResponse]()
	s.api.Do(guest.HTTPRequest{
		Method: "GET",
		Path:   "latest",
		Query:  url.Values{"base": {req.GetFrom()}},
		Header: map[string][]string{"Authorization": {"Bearer " + s.apiKey}},
	}).Success(func(r guest.HTTPResponse) {
		resp, err := convert(req, r.Status, r.Body)
		if err != nil {
			out.Reject(err)
			return
		}
		out.Resolve(resp)
	}).Failure(func(err error) {
		out.Reject(err) // unavailable, deadline exceeded: the caller reads the API's failure
	})
	return out
}

// convert is the plain Go half: the conversion of req at the rates of the
// API's answer (its status and body), unit-tested natively.
func convert(req *ratesv1.ConvertRequest, status int, body []byte) (*ratesv1.ConvertResponse, error) {
	if status != 200 { // a 401 or a 503 is what the API said, not an error of the request
		return nil, guest.Errorf(guest.CodeUnavailable, "the rates API answered %d: %.200s", status, bytes.TrimSpace(body))
	}
	var latest struct {
		Rates map[string]float64 `json:"rates"`
	}
	if err := json.Unmarshal(body, &latest); err != nil {
		return nil, guest.Errorf(guest.CodeInternal, "the rates API's answer is no JSON of rates: %v", err)
	}
	rate, ok := latest.Rates[req.GetTo()]
	if !ok {
		return nil, guest.Errorf(guest.CodeNotFound, "the rates API has no rate from %s to %s", req.GetFrom(), req.GetTo())
	}
	return &ratesv1.ConvertResponse{Amount: req.GetAmount() * rate, Rate: rate}, nil
}
