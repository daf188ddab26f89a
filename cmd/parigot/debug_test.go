package main

import (
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Delve's JSON-RPC API (service/rpc2), as much of it as the test uses.
type (
	dlvLocation struct {
		File string `json:"file"`
		Line int    `json:"line"`
	}
	dlvState struct {
		Running       bool
		Exited        bool         `json:"exited"`
		CurrentThread *dlvLocation `json:"currentThread"`
	}
	dlvCommandOut struct{ State dlvState }
	dlvVariable   struct {
		Value string `json:"value"`
	}
	dlvEvalOut struct{ Variable *dlvVariable }
)

// TestDebuggingAServiceUnderDelve runs helloworld with its greeting service
// under Delve, in both modes, and debugs it as an IDE would through Delve's
// API: a breakpoint in the service's method, continue, hit it when the
// program calls, read the request, continue, and see the program print the
// greeting (its call waited, its budget suspended).
func TestDebuggingAServiceUnderDelve(t *testing.T) {
	repo, source, line := needDelve(t)
	for _, mode := range []string{"single", "split"} {
		t.Run(mode, func(t *testing.T) {
			p, dlv, hit := debugGreeting(t, repo, mode, source, line)
			if th := hit.State.CurrentThread; hit.State.Exited || th == nil || th.File != source || th.Line != line {
				t.Fatalf("stopped at %+v (exited %v), want %s:%d\n%s", th, hit.State.Exited, source, line, p.said())
			}
			var name dlvEvalOut
			if err := dlv.Call("RPCServer.Eval", map[string]any{"Scope": map[string]any{"GoroutineID": -1}, "Expr": "req.Name"}, &name); err != nil {
				t.Fatalf("eval req.Name: %v", err)
			}
			if name.Variable == nil || name.Variable.Value != "world" {
				t.Errorf("req.Name = %+v, want world", name.Variable)
			}
			// The pause is announced while the program's call waits.
			p.waitFor(t, &p.stderr, regexp.MustCompile(regexp.QuoteMeta("service greeting is paused in the debugger at "+source)), 1)
			// Continue does not return while the service runs: do not wait.
			dlv.Go("RPCServer.Command", map[string]any{"name": "continue"}, new(dlvCommandOut), make(chan *rpc.Call, 1))

			if err := p.wait(t); err != nil {
				t.Errorf("parigot run: %v\n%s", err, p.said())
			}
			if !regexp.MustCompile(`(?m)^hello +\| Hello, world!$`).MatchString(p.stdout.String()) {
				t.Errorf("the program did not print the greeting:\n%s", p.said())
			}
		})
	}
}

// needDelve skips t without Delve on PATH (fails it if
// PARIGOT_REQUIRE_TOOLS is set), and returns the repository, and the file
// and line of helloworld's greeting method where the tests break.
func needDelve(t *testing.T) (repo, source string, line int) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs guests")
	}
	if _, err := exec.LookPath("dlv"); err != nil {
		if os.Getenv("PARIGOT_REQUIRE_TOOLS") != "" {
			t.Fatal("Delve (dlv) is not on PATH, and PARIGOT_REQUIRE_TOOLS is set: go install github.com/go-delve/delve/cmd/dlv@v1.27.2")
		}
		t.Skip("Delve (dlv) is not on PATH: go install github.com/go-delve/delve/cmd/dlv@v1.27.2")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	source = filepath.Join(repo, "examples", "helloworld", "greeting", "main.go")
	return repo, source, lineOf(t, source, "return &greetingv1.FetchGreetingResponse{")
}

// debugGreeting runs helloworld in mode with its greeting service under
// Delve, attaches to Delve's API as an IDE does, sets a breakpoint at
// source:line and continues to it; it returns the run, the client and
// Delve's state at the stop.
func debugGreeting(t *testing.T, repo, mode, source string, line int) (*parigotProcess, *rpc.Client, dlvCommandOut) {
	t.Helper()
	p := startParigot(t, "", nil, "run", "--mode="+mode, "--debug=greeting", filepath.Join(repo, "examples", "helloworld"))
	a := p.waitFor(t, &p.stderr, regexp.MustCompile(`service greeting runs under Delve, which waits for a debugger at (\S+):`), 1)[1]
	conn, err := net.Dial("tcp", a)
	if err != nil {
		t.Fatal(err)
	}
	dlv := jsonrpc.NewClient(conn)
	t.Cleanup(func() { dlv.Close() })
	var bp struct{}
	if err := dlv.Call("RPCServer.CreateBreakpoint", map[string]any{"Breakpoint": dlvLocation{File: source, Line: line}}, &bp); err != nil {
		t.Fatalf("CreateBreakpoint at %s:%d: %v", source, line, err)
	}
	var hit dlvCommandOut
	if err := dlv.Call("RPCServer.Command", map[string]any{"name": "continue"}, &hit); err != nil {
		t.Fatalf("continue: %v\n%s", err, p.said())
	}
	return p, dlv, hit
}

// lineOf is the number of the first line of file that holds text.
func lineOf(t *testing.T, file, text string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, text) {
			return i + 1
		}
	}
	t.Fatalf("%s has no line with %q", file, text)
	return 0
}

// TestQuittingDelveEndsTheGuestItDebugs quits Delve as its terminal
// client does on exit, answering y to kill the headless instance, while
// the greeting service waits at a breakpoint: the run says the debugger
// ended the service, not that it crashed.
func TestQuittingDelveEndsTheGuestItDebugs(t *testing.T) {
	repo, source, line := needDelve(t)
	for _, mode := range []string{"single", "split"} {
		t.Run(mode, func(t *testing.T) {
			p, dlv, _ := debugGreeting(t, repo, mode, source, line)
			// What dlv's exit does when told y to "kill the headless instance?".
			dlv.Go("RPCServer.Detach", map[string]any{"Kill": true}, new(struct{}), make(chan *rpc.Call, 1))

			p.waitFor(t, &p.stderr, regexp.MustCompile(`(?m)^parigot: service greeting ended: its debugger \(Delve\) was quit and killed it(;|$)`), 1)
			p.wait(t)
			if strings.Contains(p.stderr.String(), "exited with code") {
				t.Errorf("the service's end reads as a crash:\n%s", p.said())
			}
		})
	}
}
