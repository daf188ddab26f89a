package apptest

import (
	"errors"
	"strings"
	"testing"

	greetingv1 "parigot.dev/parigot/examples/helloworld/gen/greeting/v1"
	"parigot.dev/parigot/runtime/guest"
)

func TestResolveMode(t *testing.T) {
	tests := []struct {
		env      string
		mode     Mode
		want     Mode
		skipped  bool
		scenario string
	}{
		{"", Default, Single, false, "default is single under a plain go test"},
		{"split", Default, Split, false, "default follows the pass of parigot test"},
		{"", Split, Split, false, "a pinned mode runs under a plain go test"},
		{"split", Split, Split, false, "a pinned mode runs in its own pass"},
		{"single", Split, "", true, "a pinned mode is skipped in the other pass"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			t.Setenv(EnvMode, tt.env)
			var got Mode
			skipped := true
			t.Run("inner", func(t *testing.T) {
				got = resolveMode(t, tt.mode)
				skipped = false
			})
			if skipped != tt.skipped || got != tt.want {
				t.Errorf("mode %q with %s=%q: got %q (skipped %v), want %q (skipped %v)", tt.mode, EnvMode, tt.env, got, skipped, tt.want, tt.skipped)
			}
		})
	}
}

// TestCalls checks native calls in both modes against examples/helloworld.
func TestCalls(t *testing.T) {
	for _, mode := range []Mode{Single, Split} {
		t.Run(string(mode)+" mode", func(t *testing.T) {
			t.Setenv(EnvMode, "")
			app := Start(t, "../../examples/helloworld", mode)
			if app.Mode() != mode || app.Name() != "helloworld" {
				t.Errorf("Mode, Name = %s, %s", app.Mode(), app.Name())
			}
			greeting := greetingv1.NewGreetingNativeClient(app)
			resp, err := greeting.FetchGreeting(t.Context(), &greetingv1.FetchGreetingRequest{Name: "you"})
			if err != nil || resp.GetGreeting() != "Hello, you!" {
				t.Errorf("FetchGreeting = %v, %v; want Hello, you!", resp, err)
			}
			err = app.Call(t.Context(), "nope.v1.Nope", "Get", &greetingv1.FetchGreetingRequest{}, &greetingv1.FetchGreetingResponse{})
			if !errors.Is(err, guest.ErrUnimplemented) || !strings.Contains(err.Error(), "no service of helloworld implements nope.v1.Nope") {
				t.Errorf("a call to a service the app does not implement: err = %v, want unimplemented, naming it", err)
			}
			err = app.Call(t.Context(), greetingv1.GreetingServiceName, "Nope", &greetingv1.FetchGreetingRequest{}, &greetingv1.FetchGreetingResponse{})
			if !errors.Is(err, guest.ErrUnimplemented) {
				t.Errorf("a call to an unknown method: err = %v, want unimplemented", err)
			}
			res := app.RunProgram(t, "hello")
			if res.Stdout != "Hello, world!\n" || res.ExitCode != 0 {
				t.Errorf("hello: stdout %q, exit code %d", res.Stdout, res.ExitCode)
			}
		})
	}
}
