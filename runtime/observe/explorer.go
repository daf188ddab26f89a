package observe

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Explorer holds what serves the dashboard's API explorer: the handler the
// runtime sets while the app's services serve. Meanwhile the explorer's
// requests are answered with Connect's "unavailable" error, except while
// the app restarts (parigot dev, after a change to parigot.hcl): then they
// wait for the next run's services, as requests to a gateway do, rather
// than fail because they came a moment too early. One Explorer serves the
// pages of every run of an app.
//
// An Explorer is safe for concurrent use.
type Explorer struct {
	mu         sync.Mutex
	h          http.Handler  // nil while the services do not serve
	restarting bool          // requests finding h nil wait for the next Set
	wait       time.Duration // how long they wait, at most
	changed    chan struct{} // closed, and replaced, when h or restarting changes
	waiting    int           // requests waiting for the next run (tests watch it)
}

// NewExplorer returns an Explorer whose services do not serve yet.
func NewExplorer() *Explorer { return &Explorer{changed: make(chan struct{})} }

// Set makes h serve the explorer's requests (h sees their paths without
// the /api/explorer prefix), those waiting among them. Set(nil) says the
// services stopped: the requests that come after are refused, unless the
// app is restarting, in which case they wait for the next Set.
func (e *Explorer) Set(h http.Handler) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.h = h
	if h != nil {
		e.restarting = false
	}
	e.change()
}

// Restarting says that the app is about to stop and start again: until the
// next run's services serve (Set) or Down, a request that finds none
// serving waits for them, up to wait.
func (e *Explorer) Restarting(wait time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.restarting, e.wait = true, wait
	e.change()
}

// Down says that no run of the app is coming: the requests waiting for one,
// and those that come, are refused.
func (e *Explorer) Down() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.h, e.restarting = nil, false
	e.change()
}

// change wakes the requests waiting. e.mu is held.
func (e *Explorer) change() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// ServeHTTP serves r with the handler set, waiting for one while the app
// restarts.
func (e *Explorer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, why := e.handler(r)
	if h == nil {
		if why != "" {
			unavailable(w, why)
		}
		return
	}
	h.ServeHTTP(w, r)
}

// handler is the handler set, once there is one; or nil, and what to tell
// the client (nothing when it left).
func (e *Explorer) handler(r *http.Request) (http.Handler, string) {
	var timeout <-chan time.Time
	e.mu.Lock()
	defer e.mu.Unlock()
	for {
		if e.h != nil {
			return e.h, ""
		}
		if !e.restarting {
			return nil, "the app's services are not serving: the explorer calls them while they run"
		}
		if timeout == nil {
			t := time.NewTimer(e.wait)
			defer t.Stop()
			timeout = t.C
		}
		changed := e.changed
		e.waiting++
		e.mu.Unlock()
		timedOut := false
		select {
		case <-changed:
		case <-r.Context().Done():
		case <-timeout:
			timedOut = true
		}
		e.mu.Lock()
		e.waiting--
		switch {
		case r.Context().Err() != nil:
			return nil, ""
		case timedOut && e.h == nil && e.restarting:
			return nil, fmt.Sprintf("the app is restarting (parigot dev) and its services did not serve this call within %s; call again once parigot dev says the app runs", e.wait)
		}
	}
}

// waitingRequests is how many requests wait for the next run.
func (e *Explorer) waitingRequests() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.waiting
}

// unavailable answers with Connect's "unavailable" error, saying why.
func unavailable(w http.ResponseWriter, why string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	json.NewEncoder(w).Encode(map[string]string{"code": "unavailable", "message": why})
}
