// Command greeting is the helloworld app's service: it answers FetchGreeting.
package main

import (
	"context"

	greetingv1 "parigot.dev/parigot/examples/helloworld/gen/greeting/v1"
	"parigot.dev/parigot/runtime/guest"
)

func main() {
	greetingv1.RunGreeting(&server{})
}

type server struct{}

// FetchGreeting is the protocol half of the method: it hands the request to
// fetchGreeting and turns its result into a future.
func (s *server) FetchGreeting(ctx context.Context, req *greetingv1.FetchGreetingRequest) *guest.Future[*greetingv1.FetchGreetingResponse] {
	return guest.Completed(fetchGreeting(req))
}

// fetchGreeting is the plain Go half: the service's logic, unit-tested natively.
func fetchGreeting(req *greetingv1.FetchGreetingRequest) (*greetingv1.FetchGreetingResponse, error) {
	if req.GetName() == "" {
		return nil, guest.Errorf(guest.CodeInvalidArgument, "a name is required")
	}
	return &greetingv1.FetchGreetingResponse{Greeting: "Hello, " + req.GetName() + "!"}, nil
}
