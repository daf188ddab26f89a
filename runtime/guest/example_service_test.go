package guest_test

import (
	"context"
	"fmt"
	"strings"

	greetingv1 "parigot.dev/parigot/examples/helloworld/gen/greeting/v1"
	"parigot.dev/parigot/runtime/guest"
)

// server serves greeting.v1.Greeting. Its main function would call
// greetingv1.RunGreeting(&server{}).
type server struct{}

var _ greetingv1.GreetingServer = (*server)(nil)

// FetchGreeting is the protocol half of the method: Completed turns the
// plain Go half's (response, error) into a future that has completed.
func (s *server) FetchGreeting(ctx context.Context, req *greetingv1.FetchGreetingRequest) *guest.Future[*greetingv1.FetchGreetingResponse] {
	return guest.Completed(fetchGreeting(req))
}

// fetchGreeting is the plain Go half: the service's logic, which unit tests
// call directly, natively, with plain go test.
func fetchGreeting(req *greetingv1.FetchGreetingRequest) (*greetingv1.FetchGreetingResponse, error) {
	name := strings.TrimSpace(req.GetName())
	if name == "" {
		return nil, guest.Errorf(guest.CodeInvalidArgument, "a name is required")
	}
	return &greetingv1.FetchGreetingResponse{Greeting: "Hello, " + name + "!"}, nil
}

// A service method is written in two halves, so that its logic is ordinary
// Go that runs without a host.
func ExampleCompleted() {
	// What a unit test does: call the plain Go half.
	resp, err := fetchGreeting(&greetingv1.FetchGreetingRequest{Name: " world "})
	fmt.Printf("%q %v\n", resp.GetGreeting(), err)

	// The protocol half's future has completed by the time it is returned.
	s := &server{}
	s.FetchGreeting(context.Background(), &greetingv1.FetchGreetingRequest{}).
		Success(func(r *greetingv1.FetchGreetingResponse) { fmt.Println(r.GetGreeting()) }).
		Failure(func(err error) { fmt.Println("FetchGreeting failed:", err) })
	// Output:
	// "Hello, world!" <nil>
	// FetchGreeting failed: invalid argument: a name is required
}
