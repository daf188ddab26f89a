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
	served := regexp.MustCompile(`^parigot: gateway public serves (http://127\.0\.0\.1:\d+) \(Ctrl-C stops the app\)$`)
	for _, mode := range []string{"single", "split"} {
		t.Run(mode, func(t *testing.T) {
			cmd := &exec.Cmd{Path: exe, Args: []string{"parigot", "run", "--mode=" + mode, "testdata/apps/served"}}
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			stderrPipe, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			var mu sync.Mutex
			var stderr strings.Builder
			urls, ran := make(chan string, 1), make(chan bool, 1)
			var wg sync.WaitGroup
			wg.Go(func() {
				sc := bufio.NewScanner(stderrPipe)
				for sc.Scan() {
					mu.Lock()
					stderr.WriteString(sc.Text() + "\n")
					mu.Unlock()
					if m := served.FindStringSubmatch(sc.Text()); m != nil {
						urls <- m[1]
					}
				}
			})
			wg.Go(func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					if strings.HasSuffix(sc.Text(), "| ran") {
						ran <- true
					}
				}
			})
			said := func() string { mu.Lock(); defer mu.Unlock(); return stderr.String() }
			var url string
			for url == "" || ran != nil {
				select {
				case url = <-urls:
				case <-ran:
					ran = nil
				case <-time.After(2 * time.Minute):
					t.Fatalf("no gateway URL and program output within 2 minutes:\n%s", said())
				}
			}
			// The program has ended; the gateway still serves.
			resp, err := http.Post(url+"/test.Greeter/Hi", "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatalf("calling the gateway after the program ended: %v\n%s", err, said())
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "{}" {
				t.Errorf("Hi through the gateway: %d %s", resp.StatusCode, body)
			}

			syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			waited := make(chan error, 1)
			go func() { wg.Wait(); waited <- cmd.Wait() }()
			select {
			case err = <-waited:
			case <-time.After(30 * time.Second):
				t.Fatalf("parigot did not stop within 30s of SIGTERM:\n%s", said())
			}
			var exit *exec.ExitError
			if !errorsAs(err, &exit) || exit.ExitCode() != exitInterrupted {
				t.Errorf("exit: %v, want code %d\n%s", err, exitInterrupted, said())
			}
			if _, err := http.Get(url + "/"); err == nil {
				t.Errorf("the gateway still answers after parigot exited")
			}
		})
	}
}
