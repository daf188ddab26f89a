// Command web is a test guest that calls an external HTTP API, the http
// endpoint "api" (and "down", which nothing answers). As a service (WEB=
// service) it answers test.Web/Fetch, whose request is a path: it sends
// GET <path> to api and answers with the response's status and body, or
// fails with the request's error. As a program it sends requests of every
// kind, directly and through the service, and prints how each ended, one
// line each, in order; with WEB set otherwise, it is one of the programs
// below (see modes).
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"parigot.dev/parigot/runtime/guest"
)

func main() {
	if os.Getenv("WEB") == "service" {
		serve()
		return
	}
	if mode := modes[os.Getenv("WEB")]; mode != nil {
		guest.LaunchClient().Success(func(struct{}) { mode(mustOpen("api")) })
		guest.MustRunClient()
		return
	}
	guest.LaunchClient().Success(func(struct{}) {
		if _, err := guest.OpenHTTP("secret"); err != nil {
			fmt.Println("open secret:", err)
		}
		if _, err := guest.OpenHTTP("nothere"); err != nil {
			fmt.Println("open nothere:", err)
		}
		api, err := guest.OpenHTTP("api")
		if err != nil {
			fmt.Println("open api:", err)
			guest.ExitSelf(1)
		}
		down, err := guest.OpenHTTP("down")
		if err != nil {
			fmt.Println("open down:", err)
			guest.ExitSelf(1)
		}
		steps := []func(next func()){
			func(next func()) {
				api.Do(guest.HTTPRequest{Method: "POST", Path: "charges", Query: map[string][]string{"limit": {"10"}},
					Header: map[string][]string{"Authorization": {"Bearer " + os.Getenv("API_KEY")}}, Body: []byte("amount=5")}).
					Success(func(r guest.HTTPResponse) {
						fmt.Printf("charge: %d %s (seen %s)\n", r.Status, r.Body, r.Header.Get("X-Seen"))
						next()
					}).Failure(failed("charge", next))
			},
			func(next func()) {
				api.Do(guest.HTTPRequest{Path: "missing"}).Success(func(r guest.HTTPResponse) {
					fmt.Printf("missing: %d %s\n", r.Status, strings.TrimSpace(string(r.Body)))
					next()
				}).Failure(failed("missing", next))
			},
			func(next func()) { api.Do(guest.HTTPRequest{Path: "../admin"}).Failure(failed("escape", next)) },
			func(next func()) {
				api.Do(guest.HTTPRequest{Path: "https://evil.example/x"}).Failure(failed("absolute", next))
			},
			func(next func()) { api.Do(guest.HTTPRequest{Path: "big"}).Failure(failed("big", next)) },
			func(next func()) {
				api.Do(guest.HTTPRequest{Method: "PUT", Path: "upload", Body: make([]byte, guest.MaxHTTPBody+1)}).Failure(failed("upload", next))
			},
			func(next func()) {
				api.Do(guest.HTTPRequest{Path: "redirect-out"}).Success(printed("redirect out", next)).Failure(failed("redirect out", next))
			},
			func(next func()) {
				api.Do(guest.HTTPRequest{Path: "redirect-in"}).Success(printed("redirect in", next)).Failure(failed("redirect in", next))
			},
			func(next func()) { down.Do(guest.HTTPRequest{Path: "x"}).Failure(failed("down", next)) },
			func(next func()) {
				// The service's method waits on a server slower than its
				// budget; meanwhile the service answers another call.
				web, err := guest.Locate("test.Web")
				if err != nil {
					fmt.Println("locate:", err)
					guest.ExitSelf(1)
				}
				slowDone := false
				fetch(web, "slow").Success(func(string) { fmt.Println("slow: answered") }).Failure(func(err error) {
					slowDone = true
					fmt.Printf("slow: %s: %s\n", guest.CodeOf(err), message(err))
					next()
				})
				fetch(web, "fast").Success(func(b string) {
					fmt.Printf("fast: %s while slow waits: %v\n", b, !slowDone)
				}).Failure(failed("fast", func() {}))
			},
		}
		run(steps, func() { guest.ExitSelf(0) })
	})
	guest.MustRunClient()
}

// modes are the programs of WEB's other values, each given the endpoint
// api.
var modes = map[string]func(api *guest.HTTP){
	// hold-exit and hold-trap send GET hold, which the test's server
	// holds, then ask GET holding, which it answers once hold has reached
	// it; then they exit, or panic, while hold is in flight.
	"hold-exit": func(api *guest.HTTP) {
		hold(api, func() { guest.ExitSelf(0) })
	},
	"hold-trap": func(api *guest.HTTP) {
		hold(api, func() { panic("ending while hold is in flight") })
	},
	// hold-service asks the service (test.Web/Fetch) to send GET hold from
	// a method, then, once hold has reached the server, GET crash, on which
	// the service panics while hold is in flight.
	"hold-service": func(api *guest.HTTP) {
		web := mustLocate()
		fetch(web, "hold")
		api.Do(guest.HTTPRequest{Path: "holding"}).Success(func(guest.HTTPResponse) {
			fetch(web, "crash").Failure(failed("crash", func() { guest.ExitSelf(0) }))
		}).Failure(failed("holding", func() { guest.ExitSelf(1) }))
	},
	// finish waits for the test to say it is done (GET finish), so that
	// the run goes on until then.
	"finish": func(api *guest.HTTP) {
		api.Do(guest.HTTPRequest{Path: "finish"}).Success(printed("finish", func() { guest.ExitSelf(0) })).
			Failure(failed("finish", func() { guest.ExitSelf(1) }))
	},
	// deadlines sends GET slow, which the server never answers, directly
	// and from the service's method, and prints how each ended.
	"deadlines": func(api *guest.HTTP) {
		web := mustLocate()
		api.Do(guest.HTTPRequest{Path: "slow"}).Success(printed("direct slow", nil)).Failure(failed("direct slow", func() {
			fetch(web, "slow").Success(func(b string) { fmt.Println("method slow:", b) }).Failure(failed("method slow", func() { guest.ExitSelf(0) }))
		}))
	},
}

func hold(api *guest.HTTP, end func()) {
	api.Do(guest.HTTPRequest{Path: "hold"}).Success(printed("hold", nil)).Failure(failed("hold", nil))
	api.Do(guest.HTTPRequest{Path: "holding"}).Success(func(guest.HTTPResponse) { end() }).
		Failure(failed("holding", func() { guest.ExitSelf(1) }))
}

func mustOpen(name string) *guest.HTTP {
	h, err := guest.OpenHTTP(name)
	if err != nil {
		fmt.Printf("open %s: %v\n", name, err)
		guest.ExitSelf(1)
	}
	return h
}

func mustLocate() guest.Client {
	web, err := guest.Locate("test.Web")
	if err != nil {
		fmt.Println("locate:", err)
		guest.ExitSelf(1)
	}
	return web
}

func run(steps []func(next func()), done func()) {
	if len(steps) == 0 {
		done()
		return
	}
	steps[0](func() { run(steps[1:], done) })
}

func printed(what string, next func()) func(guest.HTTPResponse) {
	return func(r guest.HTTPResponse) {
		fmt.Printf("%s: %d %s\n", what, r.Status, strings.TrimSpace(string(r.Body)))
		if next != nil {
			next()
		}
	}
}

func failed(what string, next func()) func(error) {
	return func(err error) {
		fmt.Printf("%s: %s: %s\n", what, guest.CodeOf(err), message(err))
		if next != nil {
			next()
		}
	}
}

func message(err error) string {
	if e, ok := err.(*guest.Error); ok {
		return e.Message
	}
	return err.Error()
}

// fetch calls test.Web/Fetch for path, and gives the answer's text.
func fetch(web guest.Client, path string) *guest.Future[string] {
	out := guest.NewFuture[string]()
	guest.Invoke(web, "Fetch", wrapperspb.String(path), new(wrapperspb.StringValue)).
		Success(func(r *wrapperspb.StringValue) { out.Resolve(r.GetValue()) }).
		Failure(func(err error) { out.Reject(err) })
	return out
}

// server is the service: it opens api once it starts.
type server struct{ api *guest.HTTP }

func (s *server) Ready(context.Context) bool {
	var err error
	if s.api, err = guest.OpenHTTP("api"); err != nil {
		fmt.Println("open api:", err)
	}
	return err == nil
}

func serve() {
	s := &server{}
	guest.Export("test.Web", s, map[string]guest.Method{
		"Fetch": guest.UnaryMethod(func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) },
			func(_ context.Context, req *wrapperspb.StringValue) *guest.Future[*wrapperspb.StringValue] {
				if req.GetValue() == "crash" {
					panic("crashing while the service's requests are in flight")
				}
				out := guest.NewFuture[*wrapperspb.StringValue]()
				s.api.Do(guest.HTTPRequest{Path: req.GetValue()}).Success(func(r guest.HTTPResponse) {
					out.Resolve(wrapperspb.String(fmt.Sprintf("%d %s", r.Status, strings.TrimSpace(string(r.Body)))))
				}).Failure(func(err error) { out.Reject(err) })
				return out
			}),
	})
	guest.Run()
}
