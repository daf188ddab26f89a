// Package routetest holds what tests of the call routing share: a service
// that takes every call and leaves its answer to the test.
package routetest

import (
	"time"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/route"
)

// Holding is a service named Name, with the method budget Budget, that
// takes every call and answers none by itself: each arrives on Got with
// where its reply goes, for the test to answer or leave.
type Holding struct {
	Name   string
	Budget time.Duration
	Got    chan Held
}

// Held is a call a Holding took: the event, and where its reply goes.
type Held struct {
	Ev   abi.Event
	From route.Endpoint
}

// NewHolding is a Holding whose Got holds up to n calls.
func NewHolding(name string, budget time.Duration, n int) *Holding {
	return &Holding{Name: name, Budget: budget, Got: make(chan Held, n)}
}

// Deliver implements route.Endpoint.
func (h *Holding) Deliver(ev abi.Event, from route.Endpoint) route.Refusal {
	h.Got <- Held{ev, from}
	return route.Accepted
}

// GuestName implements route.Endpoint.
func (h *Holding) GuestName() string { return h.Name }

// MethodTimeout implements route.Endpoint.
func (h *Holding) MethodTimeout() time.Duration { return h.Budget }
