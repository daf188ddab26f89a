package gateway

import (
	"net/http"
	"slices"
	"time"

	connectcors "connectrpc.com/cors"
	"github.com/rs/cors"
)

// corsMaxAge is how long a browser may keep the answer to a preflight
// request before it asks again.
const corsMaxAge = 2 * time.Hour

// withCORS lets pages from origins call h from a browser (cors_origins in
// parigot.hcl; "*" is any page): it answers browsers' preflight requests,
// and marks the answers to their calls as readable by those pages. The
// methods and headers are those of every protocol the gateway speaks
// (Connect, gRPC-Web, and REST's methods), as connectrpc.com/cors lists
// them, with the W3C trace context and Authorization beside them. Without
// origins, h is returned as it is: a browser then lets no page of another
// origin read an answer.
func withCORS(origins []string, h http.Handler) http.Handler {
	if len(origins) == 0 {
		return h
	}
	methods := append(connectcors.AllowedMethods(), http.MethodPut, http.MethodPatch, http.MethodDelete)
	headers := append(connectcors.AllowedHeaders(), "Authorization", "Traceparent", "Tracestate")
	return cors.New(cors.Options{
		AllowedOrigins: slices.Clone(origins),
		AllowedMethods: methods,
		AllowedHeaders: headers,
		ExposedHeaders: connectcors.ExposedHeaders(),
		MaxAge:         int(corsMaxAge / time.Second),
	}).Handler(h)
}
