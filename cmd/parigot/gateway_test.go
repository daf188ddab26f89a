package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// TestAGatewayServesUntilInterrupted runs an app with a gateway and a
// program that ends at once: parigot prints the gateway's URL, serves on
// after the program's end, and stops on SIGTERM, exiting 130.
func TestAGatewayServesUntilInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"single", "split"} {
		t.Run(mode, func(t *testing.T) {
			p := startParigot(t, exe, "run", "--mode="+mode, "testdata/apps/served")
			url := p.waitURL(t)
			p.waitStdout(t, "| ran")
			// The program has ended; the gateway still serves.
			callHi(t, url, p)
			p.stop(t)
			if _, err := http.Get(url + "/"); err == nil {
				t.Errorf("the gateway still answers after parigot exited")
			}
		})
	}
}

// TestAMachineCanServeJustTheGateway runs the app over one NATS server as
// two machines would: one parigot hosts the service (--only=greeter), the
// other just the gateway (--only=public), which calls the service over
// NATS.
func TestAMachineCanServeJustTheGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true, MaxPayload: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("the NATS server did not start")
	}
	defer ns.Shutdown()
	gw := startParigot(t, exe, "run", "--mode=split", "--nats="+ns.ClientURL(), "--only=public", "testdata/apps/served")
	svc := startParigot(t, exe, "run", "--mode=split", "--nats="+ns.ClientURL(), "--only=greeter", "testdata/apps/served")
	url := gw.waitURL(t) // once the service it serves is ready, wherever it runs
	callHi(t, url, gw)
	gw.stop(t)
	svc.stop(t)
}

// parigotProcess is a parigot command started by a test, in a process
// group of its own, whose output lines the test waits for.
type parigotProcess struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr strings.Builder
	urls   chan string
	lines  chan string // stdout
	wg     sync.WaitGroup
}

var served = regexp.MustCompile(`^parigot: gateway public serves (http://127\.0\.0\.1:\d+) \(Ctrl-C stops the app\)$`)

func startParigot(t *testing.T, exe string, args ...string) *parigotProcess {
	t.Helper()
	p := &parigotProcess{urls: make(chan string, 1), lines: make(chan string, 100)}
	p.cmd = &exec.Cmd{Path: exe, Args: append([]string{"parigot"}, args...)}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) })
	p.wg.Go(func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := served.FindStringSubmatch(sc.Text()); m != nil {
				p.urls <- m[1]
			}
		}
	})
	p.wg.Go(func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
	})
	return p
}

func (p *parigotProcess) said() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func (p *parigotProcess) waitURL(t *testing.T) string {
	t.Helper()
	select {
	case url := <-p.urls:
		return url
	case <-time.After(2 * time.Minute):
		t.Fatalf("no gateway URL within 2 minutes:\n%s", p.said())
	}
	return ""
}

func (p *parigotProcess) waitStdout(t *testing.T, suffix string) {
	t.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case line := <-p.lines:
			if strings.HasSuffix(line, suffix) {
				return
			}
		case <-timeout:
			t.Fatalf("no line ending %q on stdout within 2 minutes:\n%s", suffix, p.said())
		}
	}
}

// stop sends SIGTERM and expects parigot to exit 130, promptly.
func (p *parigotProcess) stop(t *testing.T) {
	t.Helper()
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	waited := make(chan error, 1)
	go func() { p.wg.Wait(); waited <- p.cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-time.After(30 * time.Second):
		t.Fatalf("parigot did not stop within 30s of SIGTERM:\n%s", p.said())
	}
	var exit *exec.ExitError
	if !errorsAs(err, &exit) || exit.ExitCode() != exitInterrupted {
		t.Errorf("exit: %v, want code %d\n%s", err, exitInterrupted, p.said())
	}
}

// callHi calls test.Greeter/Hi through the gateway at url.
func callHi(t *testing.T, url string, p *parigotProcess) {
	t.Helper()
	resp, err := http.Post(url+"/test.Greeter/Hi", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("calling the gateway: %v\n%s", err, p.said())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "{}" {
		t.Errorf("Hi through the gateway: %d %s\n%s", resp.StatusCode, body, p.said())
	}
}
