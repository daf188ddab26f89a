package guest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	greetingv1 "parigot.dev/parigot/examples/helloworld/gen/greeting/v1"
	"parigot.dev/parigot/runtime/guest"
)

// A method that needs another call's reply returns a pending future and
// completes it from that call's callbacks. Here a future of our own stands
// in for the reply, so that the example runs without a host.
func ExampleNewFuture() {
	reply := guest.NewFuture[*greetingv1.FetchGreetingResponse]() // the other call's reply
	out := guest.NewFuture[string]()                              // what the method returns
	reply.
		Success(func(r *greetingv1.FetchGreetingResponse) { out.Resolve(r.GetGreeting()) }).
		Failure(func(err error) { out.Reject(err) })

	out.Success(func(greeting string) { fmt.Println("method replies:", greeting) })
	fmt.Println("done before the reply:", out.Done())

	reply.Resolve(&greetingv1.FetchGreetingResponse{Greeting: "Hello, world!"})
	fmt.Println("done after the reply:", out.Done())
	// A future completes once: later completions are refused.
	fmt.Println("resolved again:", reply.Resolve(nil))
	// Output:
	// done before the reply: false
	// method replies: Hello, world!
	// done after the reply: true
	// resolved again: false
}

// Reject fails a future: its Failure callbacks run, its Success callbacks
// never do.
func ExampleFuture_Reject() {
	f := guest.NewFuture[*greetingv1.FetchGreetingResponse]()
	f.Success(func(r *greetingv1.FetchGreetingResponse) { fmt.Println("greeting:", r.GetGreeting()) }).
		Failure(func(err error) { fmt.Println("failed:", err) })

	fmt.Println("rejected:", f.Reject(errors.New("no greeting today")))
	fmt.Println("rejected again:", f.Reject(errors.New("still none")))
	// Output:
	// failed: no greeting today
	// rejected: true
	// rejected again: false
}

// Callbacks registered on a future that has already completed run at once.
func ExampleResolved() {
	f := guest.Resolved(&greetingv1.FetchGreetingResponse{Greeting: "Hello, world!"})
	f.Success(func(r *greetingv1.FetchGreetingResponse) { fmt.Println(r.GetGreeting()) }).
		Failure(func(err error) { fmt.Println("not called:", err) })
	// Output:
	// Hello, world!
}

// A method can fail at once, before doing any work, with a future that has
// already failed.
func ExampleRejected() {
	f := guest.Rejected[*greetingv1.FetchGreetingResponse](guest.Errorf(guest.CodeUnimplemented, "greetings in Klingon"))
	f.Failure(func(err error) { fmt.Println(err) })
	// Output:
	// unimplemented: greetings in Klingon
}

// A method returns Errorf for its callers to see a code other than
// CodeUnknown, the code of an error without one. The caller tells the codes
// apart with errors.Is against the sentinels, or reads the code with CodeOf.
func ExampleErrorf() {
	err := guest.Errorf(guest.CodeNotFound, "no item %q", "sku-42")
	fmt.Println(err)
	fmt.Println(guest.CodeOf(err))
	fmt.Println(errors.Is(err, guest.ErrNotFound))
	// Output:
	// not found: no item "sku-42"
	// not found
	// true
}

// A Failure callback tells the runtime's errors apart with errors.Is, which
// matches any *guest.Error of the sentinel's code. The errors below are those
// a call's future fails with when the callee is too slow, down, overloaded,
// or returns an error of its own.
func ExampleError() {
	const method = "greeting.v1.Greeting/FetchGreeting"
	onFailure := func(err error) {
		switch {
		case errors.Is(err, guest.ErrDeadlineExceeded):
			fmt.Println("too slow, give up:", err)
		case errors.Is(err, guest.ErrUnavailable):
			fmt.Println("down, try another time:", err)
		case errors.Is(err, guest.ErrResourceExhausted):
			fmt.Println("overloaded, slow down:", err)
		default:
			fmt.Println("failed:", err)
		}
	}
	for _, err := range []error{
		&guest.Error{Code: guest.CodeDeadlineExceeded, Method: method},
		&guest.Error{Code: guest.CodeUnavailable, Method: method},
		&guest.Error{Code: guest.CodeResourceExhausted, Method: method, Message: "inbox full"},
		&guest.Error{Code: guest.CodeInvalidArgument, Method: method, Message: "a name is required"},
	} {
		guest.Rejected[*greetingv1.FetchGreetingResponse](err).Failure(onFailure)
	}
	// Output:
	// too slow, give up: greeting.v1.Greeting/FetchGreeting: deadline exceeded
	// down, try another time: greeting.v1.Greeting/FetchGreeting: unavailable
	// overloaded, slow down: greeting.v1.Greeting/FetchGreeting: resource exhausted: inbox full
	// failed: greeting.v1.Greeting/FetchGreeting: invalid argument: a name is required
}

// CodeOf finds the code of a *guest.Error wrapped in err; the context
// package's errors have theirs, and any other error is CodeUnknown, as a gRPC
// server reports an error without a status. No error is CodeOK, so a
// table test of a method lists CodeOK for its cases that succeed.
func ExampleCodeOf() {
	wrapped := fmt.Errorf("reserving stock: %w", guest.ErrUnavailable)
	fmt.Println(guest.CodeOf(wrapped))
	fmt.Println(guest.CodeOf(context.DeadlineExceeded))
	fmt.Println(guest.CodeOf(errors.New("out of stock")))
	fmt.Println(guest.CodeOf(nil) == guest.CodeOK, guest.CodeOK)
	// Output:
	// unavailable
	// deadline exceeded
	// unknown
	// true ok
}

// Locate finds a service that the guest requires in parigot.hcl. Outside a
// host, as in this example and in a service's unit tests, there is nothing to
// locate and the error says so.
func ExampleLocate() {
	_, err := guest.Locate(greetingv1.GreetingServiceName)
	fmt.Println(err)
	// Output:
	// parigot: locate greeting.v1.Greeting: not running under a parigot host
}

// After waits without blocking the event loop. Here a program calls
// FetchGreeting again, waiting longer each time, while the service answers
// that it is overloaded. It needs a host, so the example is only compiled.
func ExampleAfter() {
	greeting, err := greetingv1.LocateGreeting()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	var fetch func(try int)
	fetch = func(try int) {
		greeting.FetchGreeting(&greetingv1.FetchGreetingRequest{Name: "world"}).
			Success(func(r *greetingv1.FetchGreetingResponse) { fmt.Println(r.GetGreeting()) }).
			Failure(func(err error) {
				if errors.Is(err, guest.ErrResourceExhausted) && try < 5 {
					guest.After(time.Duration(10<<try)*time.Millisecond, func() { fetch(try + 1) })
					return
				}
				fmt.Fprintln(os.Stderr, "FetchGreeting failed:", err)
			})
	}
	fetch(0)
}
