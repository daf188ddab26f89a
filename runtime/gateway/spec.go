package gateway

import (
	"fmt"
	"slices"
	"strings"

	"parigot.dev/parigot/manifest"
)

// Spec is one gateway of an app, as the runtime serves it.
type Spec struct {
	Name     string
	Listen   string   // host:port
	Guests   []string // the services (guests) it serves
	Services []string // the proto services they implement: what it serves
	// CORSOrigins are the web origins whose pages may call it from a
	// browser ("*": any); none when empty.
	CORSOrigins []string
	// Subscribed are the methods of Services that a subscribe block
	// delivers a topic's messages to, by "package.Service/Method": the
	// gateway refuses them to its clients (see refuseSubscribed).
	Subscribed map[string][]Subscriber
	// Headers are the request headers it passes on to the methods it
	// calls, lowercase names; none when empty.
	Headers []string
}

// FromManifest returns the gateways of app. listen, when not empty,
// replaces the address of its gateway (parigot run --listen), which needs
// the app to have exactly one.
func FromManifest(app *manifest.App, listen string) ([]Spec, error) {
	if listen != "" && len(app.Gateways) != 1 {
		return nil, fmt.Errorf("--listen gives the address of the app's gateway, and %s has %d gateways: set each one's listen in %s instead", app.Name, len(app.Gateways), manifest.FileName)
	}
	specs := make([]Spec, 0, len(app.Gateways))
	for _, g := range app.Gateways {
		s := Spec{Name: g.Name, Listen: g.Listen, Guests: g.Services, CORSOrigins: g.CORSOrigins, Headers: g.Headers}
		if listen != "" {
			s.Listen = listen
		}
		for _, name := range g.Services {
			if svc := app.Guest(name); svc != nil {
				s.Services = append(s.Services, svc.Implements...)
			}
		}
		s.Subscribed = subscriptionsTo(app, s.Services)
		specs = append(specs, s)
	}
	return specs, nil
}

// subscriptionsTo is Spec.Subscribed for a gateway serving the proto
// services named: the subscriptions of every service of app to a method
// of them (a service of the app that the gateway does not list may
// implement one of them too, and its subscription makes the method a
// topic's as well). Nil when there are none.
func subscriptionsTo(app *manifest.App, services []string) map[string][]Subscriber {
	var out map[string][]Subscriber
	for _, g := range app.Services {
		for _, sub := range g.Subscriptions {
			service, _, _ := strings.Cut(sub.Method, "/")
			if !slices.Contains(services, service) {
				continue
			}
			if out == nil {
				out = map[string][]Subscriber{}
			}
			out[sub.Method] = append(out[sub.Method], Subscriber{Topic: sub.Topic, Service: g.Name})
		}
	}
	return out
}
