package main

import (
	"bufio"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
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
	if testing.Short() {
		t.Skip("builds and runs guests")
	}
	if _, err := exec.LookPath("dlv"); err != nil {
		t.Skip("Delve (dlv) is not on PATH; CI installs it")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	source := filepath.Join(repo, "examples", "helloworld", "greeting", "main.go")
	line := lineOf(t, source, "return &greetingv1.FetchGreetingResponse{")
	for _, mode := range []string{"single", "split"} {
		t.Run(mode, func(t *testing.T) {
			var stdout, stderr lockedBuffer
			cmd := &exec.Cmd{Path: exe, Args: []string{"parigot", "run", "--mode=" + mode, "--debug=greeting", filepath.Join(repo, "examples", "helloworld")},
				Stdout: &stdout, SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
			errs, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			addr := make(chan string, 1)
			copied := make(chan bool)
			go func() {
				defer close(copied)
				announce := regexp.MustCompile(`service greeting runs under Delve, which waits for a debugger at (\S+):`)
				sc := bufio.NewScanner(errs)
				for sc.Scan() {
					stderr.Write([]byte(sc.Text() + "\n"))
					if m := announce.FindStringSubmatch(sc.Text()); m != nil {
						addr <- m[1]
					}
				}
			}()
			var a string
			select {
			case a = <-addr:
			case <-time.After(3 * time.Minute):
				t.Fatalf("no debugger address announced:\n%s", stderr.String())
			}
			conn, err := net.Dial("tcp", a)
			if err != nil {
				t.Fatal(err)
			}
			dlv := jsonrpc.NewClient(conn)
			defer dlv.Close()

			var bp struct{}
			if err := dlv.Call("RPCServer.CreateBreakpoint", map[string]any{"Breakpoint": dlvLocation{File: source, Line: line}}, &bp); err != nil {
				t.Fatalf("CreateBreakpoint at %s:%d: %v", source, line, err)
			}
			var hit dlvCommandOut
			if err := dlv.Call("RPCServer.Command", map[string]any{"name": "continue"}, &hit); err != nil {
				t.Fatalf("continue: %v\n%s", err, stderr.String())
			}
			if th := hit.State.CurrentThread; hit.State.Exited || th == nil || th.File != source || th.Line != line {
				t.Fatalf("stopped at %+v (exited %v), want %s:%d\n%s", th, hit.State.Exited, source, line, stderr.String())
			}
			var name dlvEvalOut
			if err := dlv.Call("RPCServer.Eval", map[string]any{"Scope": map[string]any{"GoroutineID": -1}, "Expr": "req.Name"}, &name); err != nil {
				t.Fatalf("eval req.Name: %v", err)
			}
			if name.Variable == nil || name.Variable.Value != "world" {
				t.Errorf("req.Name = %+v, want world", name.Variable)
			}
			// The pause is announced while the program's call waits.
			waitForText(t, &stderr, "service greeting is paused in the debugger at "+source)
			// Continue does not return while the service runs: do not wait.
			dlv.Go("RPCServer.Command", map[string]any{"name": "continue"}, new(dlvCommandOut), make(chan *rpc.Call, 1))

			done := make(chan error, 1)
			go func() {
				<-copied
				done <- cmd.Wait()
			}()
			select {
			case err = <-done:
			case <-time.After(3 * time.Minute):
				t.Fatalf("parigot did not end after the program's call:\n%s\n%s", stdout.String(), stderr.String())
			}
			if err != nil {
				t.Errorf("parigot run: %v\n%s", err, stderr.String())
			}
			if !regexp.MustCompile(`(?m)^hello +\| Hello, world!$`).MatchString(stdout.String()) {
				t.Errorf("the program did not print the greeting:\n%s\n%s", stdout.String(), stderr.String())
			}
		})
	}
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

// waitForText waits until out holds text.
func waitForText(t *testing.T, out interface{ String() string }, text string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(out.String(), text) {
			return
		}
	}
	t.Fatalf("no %q in:\n%s", text, out.String())
}
