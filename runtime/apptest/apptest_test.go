package apptest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	greetingv1 "parigot.dev/parigot/examples/helloworld/gen/greeting/v1"
	"parigot.dev/parigot/runtime/guest"
	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/native"
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

// TestACallWhoseContextEndsFailsWithItsCode checks that a native call
// whose ctx ends before the reply fails as a guest's call past its
// deadline does: a *guest.Error of code deadline exceeded (canceled),
// naming the method, with ctx's own error still in its chain.
func TestACallWhoseContextEndsFailsWithItsCode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an app, which Start skips under -short")
	}
	t.Setenv(EnvMode, "")
	app := Start(t, "testdata/shop", Single)
	tests := []struct {
		scenario string
		ctx      func() (context.Context, context.CancelFunc)
		want     error
		ctxErr   error
	}{
		{"a deadline that passes is deadline exceeded", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(t.Context(), 20*time.Millisecond)
		}, guest.ErrDeadlineExceeded, context.DeadlineExceeded},
		{"a cancel is canceled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(20*time.Millisecond, cancel)
			return ctx, cancel
		}, guest.ErrCanceled, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			// shop answers "slow" after 200ms: ctx ends first.
			err := app.Call(ctx, "test.Shop", "Greet", wrapperspb.String("slow"), new(wrapperspb.StringValue))
			var gerr *guest.Error
			if !errors.As(err, &gerr) || !errors.Is(err, tt.want) || !errors.Is(err, tt.ctxErr) {
				t.Fatalf("err = %v (%T); want a *guest.Error matching %v and %v", err, err, tt.want, tt.ctxErr)
			}
			if gerr.Method != "test.Shop/Greet" {
				t.Errorf("the error names method %q, want test.Shop/Greet", gerr.Method)
			}
		})
	}
}

// TestAProgramRunsWhileAServiceItRequiresIsDown checks that a program run
// after a service it requires went down for good starts, and that its call
// fails with unavailable at once, in both modes as single mode does: it
// must not wait for the service to become ready, which it never will; in
// split mode it says so, as under `parigot run --mode=split`.
func TestAProgramRunsWhileAServiceItRequiresIsDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an app, which Start skips under -short")
	}
	for _, mode := range []Mode{Single, Split} {
		t.Run(string(mode)+" mode", func(t *testing.T) {
			t.Setenv(EnvMode, "")
			// The panic of shop fails the test that started the app, at
			// its end: rec keeps that failure, to check it.
			rec := &errorRecorder{TB: t}
			t.Run("app", func(t *testing.T) {
				rec.TB = t
				app := Start(rec, "testdata/shop", mode)
				err := app.Call(t.Context(), "test.Shop", "Greet", wrapperspb.String("boom"), new(wrapperspb.StringValue))
				if err == nil {
					t.Fatal("Greet(boom) succeeded; want it to fail, as shop panics")
				}
				waitNotServing(t, app, "test.Shop")
				res := app.RunProgram(rec, "hello")
				want := "Greet failed: test.Shop/Greet: unavailable: service shop is not running\n"
				if res.ExitCode != 1 || !strings.Contains(res.Stderr, want) || res.Stdout != "" {
					t.Errorf("hello: exit code %d, stdout %q, stderr %q; want exit code 1 and stderr with %q", res.ExitCode, res.Stdout, res.Stderr, want)
				}
				// In split mode the program's process says why it did
				// not wait, in the words of `parigot run --mode=split`'s
				// (split.Downs); single mode starts programs after the
				// services, and never waits.
				said := "parigot: hello does not wait for service shop, which is down for good: it starts without it, and its calls to shop fail with unavailable\n"
				if mode == Split && !strings.Contains(res.Stderr, said) {
					t.Errorf("hello's stderr %q lacks %q", res.Stderr, said)
				}
			})
			if got := rec.text(); !strings.Contains(got, "service shop panicked") {
				t.Errorf("the test's failures at its end: %q; want the panic of service shop", got)
			}
		})
	}
}

// TestExpectFailure checks that a failure a test causes on purpose
// (ExpectFailure) does not fail it, that one it expected and did not get
// does, and that any other failure still does.
func TestExpectFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an app, which Start skips under -short")
	}
	tests := []struct {
		scenario string
		mode     Mode
		scale    string // PARIGOT_TIMEOUT_SCALE
		expect   host.Cause
		name     string // shop panics on "boom", overruns on "stuck"
		code     guest.Code
		want     []string // the test's failures at its end
	}{
		{"an expected panic does not fail the test", Single, "", host.CausePanicked, "boom", guest.CodeUnavailable, nil},
		{"an expected panic does not fail the test in split mode", Split, "", host.CausePanicked, "boom", guest.CodeUnavailable, nil},
		{"an expected overrun does not fail the test, and its caller sees deadline exceeded", Single, "1", host.CauseOverran, "stuck", guest.CodeDeadlineExceeded, nil},
		{"an expected failure that did not come fails the test", Single, "", host.CausePanicked, "you", 0,
			[]string{`apptest: service shop did not fail with cause "panicked" during the test, as ExpectFailure at apptest_test.go:%d said it would`}},
		{"a failure of another cause than expected fails the test", Single, "", host.CauseOverran, "boom", guest.CodeUnavailable,
			[]string{"apptest: service shop panicked", `apptest: service shop did not fail with cause "overran"`}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			t.Setenv(EnvMode, "")
			if tt.scale != "" {
				t.Setenv("PARIGOT_TIMEOUT_SCALE", tt.scale)
			}
			rec := &errorRecorder{TB: t}
			var expectLine int
			t.Run("app", func(t *testing.T) {
				rec.TB = t
				app := Start(rec, "testdata/shop", tt.mode)
				app.ExpectFailure(t, "shop", tt.expect)
				_, _, line, _ := runtime.Caller(0)
				expectLine = line - 1 // the line of ExpectFailure, which the message names
				err := app.Call(t.Context(), "test.Shop", "Greet", wrapperspb.String(tt.name), new(wrapperspb.StringValue))
				if guest.CodeOf(err) != tt.code {
					t.Errorf("Greet(%s): err = %v, want code %v", tt.name, err, tt.code)
				}
				if tt.code != 0 {
					waitNotServing(t, app, "test.Shop") // its failure is recorded
				}
			})
			got := rec.text()
			for i, w := range tt.want {
				if strings.Contains(w, "%d") {
					tt.want[i] = fmt.Sprintf(w, expectLine)
				}
			}
			if len(tt.want) == 0 && got != "" {
				t.Errorf("the test failed at its end with %q; want no failure", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("the test's failures at its end: %q; want %q among them", got, w)
				}
			}
		})
	}
}

// waitNotServing waits until the app's service no longer answers readiness
// checks, as a program that starts after it went down finds it.
func waitNotServing(t *testing.T, app *App, service string) {
	t.Helper()
	var p native.Prober = app.reg
	if app.mode == Split {
		p = app.net
	}
	for giveUp := time.Now().Add(2 * time.Minute); p.Serving(t.Context(), service); {
		if time.Now().After(giveUp) {
			t.Fatalf("%s still serves 2 minutes after the call that was to take it down", service)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// errorRecorder is a testing.TB whose Errorf records instead of failing:
// for a test whose app fails it at its end on purpose.
type errorRecorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *errorRecorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *errorRecorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errors, "\n")
}

// TestAFailureAtTheEndIsReportedAtTheLineThatStartedTheApp checks where
// go test says a test failed at its end for its services: at the test's
// line that called Start, not in apptest's own files, and with the line
// of the ExpectFailure that no failure met in its message. It runs the
// test binary again for a test that fails so, and reads its output.
func TestAFailureAtTheEndIsReportedAtTheLineThatStartedTheApp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an app, which Start skips under -short")
	}
	if raceEnabled {
		// Its work is in a child process, and what it checks is go
		// test's report, which has no concurrency of its own.
		t.Skip("its work is in a child process, which the race detector slows and does not see")
	}
	if os.Getenv("APPTEST_UNMET_EXPECTATION") == "1" {
		app := Start(t, "testdata/shop", Single)
		_, _, line, _ := runtime.Caller(0)
		t.Logf("Start at line %d", line-1)
		app.ExpectFailure(t, "shop", host.CausePanicked) // no call makes it panic
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$")
	cmd.Env = append(os.Environ(), "APPTEST_UNMET_EXPECTATION=1", EnvMode+"=")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the test with an unmet expectation passed; its output:\n%s", out)
	}
	var start int
	if _, after, ok := strings.Cut(string(out), "Start at line "); ok {
		fmt.Sscan(after, &start)
	}
	want := fmt.Sprintf("apptest_test.go:%d: apptest: service shop did not fail with cause \"panicked\" during the test, as ExpectFailure at apptest_test.go:%d said it would", start, start+3)
	if start == 0 || !strings.Contains(string(out), want) {
		t.Errorf("the test's output:\n%s\nwant a line with %q", out, want)
	}
}
