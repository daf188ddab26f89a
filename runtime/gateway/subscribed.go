package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"connectrpc.com/connect"
)

// A method that a subscribe block of parigot.hcl delivers a topic's
// messages to receives what the app's guests publish: its request is an
// event of the app. Served to clients like any method, it let anyone forge
// those events (a POST to /bookmarks.v1.Stats/RecordCreated counted a
// bookmark never created). So a gateway serves no method that is a
// subscription target: a call of it from outside is refused with
// permission denied (HTTP 403), in every protocol, before anything reads
// its request. The topic's deliveries, which come from inside the app, are
// not the gateway's and reach the method as before.

// Subscriber is a subscribe block that delivers a topic's messages to a
// method.
type Subscriber struct {
	Topic   string // the topic's name
	Service string // the service (guest) whose block it is
}

// subscribed are the methods of a gateway's services that subscriptions
// deliver to, by their path ("/package.Service/Method"): the gateway
// refuses each to its clients. Nil refuses nothing (the dashboard's
// explorer, a local tool, calls every method).
type subscribed map[string][]Subscriber

// newSubscribed is the methods of Spec.Subscribed ("package.Service/Method")
// by their paths.
func newSubscribed(methods map[string][]Subscriber) subscribed {
	if len(methods) == 0 {
		return nil
	}
	s := subscribed{}
	for m, subs := range methods {
		s["/"+m] = subs
	}
	return s
}

// refusal is what a client calling proc ("/package.Service/Method") is
// told, and whether proc is a subscription target (the call is then
// refused).
func (s subscribed) refusal(proc string) (string, bool) {
	subs, ok := s[proc]
	if !ok {
		return "", false
	}
	var topics, services []string
	for _, sub := range subs {
		topics = append(topics, fmt.Sprintf("%q", sub.Topic))
		if !slices.Contains(services, sub.Service) {
			services = append(services, sub.Service)
		}
	}
	what := "topic " + topics[0]
	if len(topics) > 1 {
		what = "topics " + strings.Join(topics, ", ")
	}
	return fmt.Sprintf("%s receives the messages of %s (a subscribe block of service %s in parigot.hcl), so the gateway does not serve it to callers from outside the app; for outside callers, declare a separate rpc in the proto",
		strings.TrimPrefix(proc, "/"), what, strings.Join(services, ", ")), true
}

// refuseSubscribed answers a request for a subscription target of s with
// permission denied and HTTP 403, in its protocol, before anything else
// reads it: a call at the method's own path (Connect, gRPC, gRPC-Web) by
// its path, a REST request by the routes of the methods' google.api.http
// rules. A REST request that a route of another method also matches is
// left to vanguard, which picks the route; the handler of a subscription
// target refuses it then (see newHandler).
func refuseSubscribed(s subscribed, routes []boundRoute, h http.Handler) http.Handler {
	if len(s) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if msg, ok := s.refusal(r.URL.Path); ok {
			if grpcTrailersOnly(w, r, strconv.Itoa(int(connect.CodePermissionDenied)), msg) {
				return
			}
			connectError(w, http.StatusForbidden, connect.CodePermissionDenied, msg)
			return
		}
		if msg, ok := s.restRefusal(routes, r); ok {
			restError(w, http.StatusForbidden, connect.CodePermissionDenied, msg)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// restRefusal is refusal for the REST request r: when the routes that
// match it are all of subscription targets.
func (s subscribed) restRefusal(routes []boundRoute, r *http.Request) (string, bool) {
	target := ""
	for _, route := range routes {
		if !route.matches(r) {
			continue
		}
		if _, ok := s[route.proc]; !ok {
			return "", false
		}
		if target == "" {
			target = route.proc
		}
	}
	if target == "" {
		return "", false
	}
	return s.refusal(target)
}

// refusedUnary is the handler of the subscription target proc behind
// vanguard: it refuses every call that reaches it (see refuseSubscribed),
// and calls no service.
func (s subscribed) refusedUnary(proc string) func(context.Context, *connect.Request[rawMsg]) (*connect.Response[rawMsg], error) {
	msg, _ := s.refusal(proc)
	return func(context.Context, *connect.Request[rawMsg]) (*connect.Response[rawMsg], error) {
		return nil, connect.NewError(connect.CodePermissionDenied, errors.New(msg))
	}
}
