package main

import (
	"testing"

	greetingv1 "parigot.dev/parigot/examples/helloworld/gen/greeting/v1"
)

func TestFetchGreetingGreetsByName(t *testing.T) {
	resp, err := fetchGreeting(&greetingv1.FetchGreetingRequest{Name: "world"})
	if err != nil {
		t.Fatalf("fetchGreeting: %v", err)
	}
	if got, want := resp.GetGreeting(), "Hello, world!"; got != want {
		t.Errorf("greeting = %q, want %q", got, want)
	}
}

func TestFetchGreetingRefusesAnEmptyName(t *testing.T) {
	if _, err := fetchGreeting(&greetingv1.FetchGreetingRequest{}); err == nil {
		t.Error("fetchGreeting with no name succeeded, want an error")
	}
}
