//go:build !wasip1

// The topology tests of helloworld: the whole app, built and running, called
// from native Go code. The unit tests of the service's logic are in
// greeting/main_test.go.
package helloworld_test

import (
	"errors"
	"testing"

	greetingv1 "parigot.dev/parigot/examples/helloworld/gen/greeting/v1"
	"parigot.dev/parigot/runtime/apptest"
	"parigot.dev/parigot/runtime/guest"
)

func TestHelloworld(t *testing.T) {
	app := apptest.Start(t, ".", apptest.Default) // the mode parigot test asks for; single under go test
	greeting := greetingv1.NewGreetingNativeClient(app)

	t.Run("FetchGreeting greets by name", func(t *testing.T) {
		resp, err := greeting.FetchGreeting(t.Context(), &greetingv1.FetchGreetingRequest{Name: "parigot"})
		if err != nil {
			t.Fatalf("FetchGreeting: %v", err)
		}
		if got, want := resp.GetGreeting(), "Hello, parigot!"; got != want {
			t.Errorf("greeting = %q, want %q", got, want)
		}
	})

	t.Run("FetchGreeting refuses an empty name with the service's error", func(t *testing.T) {
		_, err := greeting.FetchGreeting(t.Context(), &greetingv1.FetchGreetingRequest{})
		var gerr *guest.Error
		if !errors.As(err, &gerr) || gerr.Code != guest.CodeInvalidArgument || gerr.Message != "a name is required" {
			t.Errorf("FetchGreeting with no name: err = %v, want invalid argument %q", err, "a name is required")
		}
	})

	t.Run("the hello program prints the greeting and exits 0", func(t *testing.T) {
		res := app.RunProgram(t, "hello")
		if got, want := res.Stdout, "Hello, world!\n"; got != want {
			t.Errorf("stdout = %q, want %q (stderr: %q)", got, want, res.Stderr)
		}
		if res.ExitCode != 0 || len(res.Failures) > 0 {
			t.Errorf("exit code %d, failures %q; want 0 and none", res.ExitCode, res.Failures)
		}
	})
}
