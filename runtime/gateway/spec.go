package gateway

import (
	"fmt"

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
		s := Spec{Name: g.Name, Listen: g.Listen, Guests: g.Services, CORSOrigins: g.CORSOrigins}
		if listen != "" {
			s.Listen = listen
		}
		for _, name := range g.Services {
			if svc := app.Guest(name); svc != nil {
				s.Services = append(s.Services, svc.Implements...)
			}
		}
		specs = append(specs, s)
	}
	return specs, nil
}
