package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestDevReloadsWhatASaveChanges runs parigot dev on a new app the way a
// user edits one: change the service's greeting and see the program print
// the new one; save a mistake and see it while the app runs on; fix it;
// change parigot.hcl and see the app restart; then stop with Ctrl-C.
func TestDevReloadsWhatASaveChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	env := os.Environ()
	for k, v := range goEnvironment(t) {
		env = append(env, k+"="+v)
	}
	// Args[0] "parigot" makes the test binary be parigot (see TestMain).
	initApp := &exec.Cmd{Path: exe, Args: []string{"parigot", "init", "shop"}, Dir: work, Env: env}
	if out, err := initApp.CombinedOutput(); err != nil {
		t.Fatalf("parigot init: %v\n%s", err, out)
	}
	app := filepath.Join(work, "shop")
	service := filepath.Join(app, "shop", "main.go")
	// The gateway init writes commented out, on a free port: it serves
	// throughout, and reaches the new versions.
	manifestFile := filepath.Join(app, "parigot.hcl")
	initial, err := os.ReadFile(manifestFile)
	if err != nil {
		t.Fatal(err)
	}
	uncommented := regexp.MustCompile(`(?m)^# (gateway|  listen|  services|})`).ReplaceAllString(string(initial), "$1")
	uncommented = strings.Replace(uncommented, `listen   = "127.0.0.1:8080"`, `listen   = "127.0.0.1:0"`, 1)
	if err := os.WriteFile(manifestFile, []byte(uncommented), 0o644); err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) {
		t.Helper()
		src, err := os.ReadFile(service)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), old) {
			t.Fatalf("%s does not hold %q", service, old)
		}
		if err := os.WriteFile(service, []byte(strings.Replace(string(src), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	var out lockedBuffer
	dev := &exec.Cmd{Path: exe, Args: []string{"parigot", "dev"}, Dir: app, Env: env,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	stdout, err := dev.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := dev.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-dev.Process.Pid, syscall.SIGKILL)
	copied := make(chan bool, 2)
	for _, r := range []io.Reader{stdout, stderr} {
		go func() {
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				out.Write([]byte(sc.Text() + "\n"))
			}
			copied <- true
		}()
	}
	// waitFor waits for the n-th line that has s.
	waitFor := func(s string, n int) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if strings.Count(out.String(), s) >= n {
				return
			}
		}
		t.Fatalf("no line %q (%d) in parigot dev's output:\n%s", s, n, out.String())
	}

	waitFor("hello | Hello, world, from shop!", 1)
	waitFor("parigot dev: gateway public serves http://", 1)
	url := regexp.MustCompile(`gateway public serves (http://\S+)`).FindStringSubmatch(out.String())[1]
	greet := func() string {
		resp, err := http.Post(url+"/shop.v1.Shop/Greet", "application/json", strings.NewReader(`{"name":"world"}`))
		if err != nil {
			t.Fatalf("calling Greet through the gateway: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := greet(); !strings.Contains(got, "Hello, world, from shop!") {
		t.Errorf("Greet through the gateway: %s", got)
	}

	edit(`"Hello, "`, `"Howdy, "`)
	waitFor("parigot dev: reloaded shop", 1)
	waitFor("hello | Howdy, world, from shop!", 1)
	if got := greet(); !strings.Contains(got, "Howdy, world, from shop!") {
		t.Errorf("Greet through the gateway after the reload: %s", got)
	}

	edit(`"Howdy, "`, `"Howdy, " + notDeclared + `)
	waitFor("undefined: notDeclared", 1)
	waitFor("parigot dev: the app runs on as it was; save a fix to try again", 1)

	edit(`"Howdy, " + notDeclared + `, `"Hi, "`)
	waitFor("hello | Hi, world, from shop!", 1)
	if strings.Contains(out.String(), "hello | Hello, world") && strings.Count(out.String(), "hello | Hello, world") != 1 {
		t.Errorf("the first version ran again:\n%s", out.String())
	}

	// A change to parigot.hcl restarts the whole app.
	manifest := filepath.Join(app, "parigot.hcl")
	hcl, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, append(hcl, "\n# edited\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor("parigot dev: parigot.hcl changed: restarting the app", 1)
	waitFor("hello | Hi, world, from shop!", 2)

	syscall.Kill(-dev.Process.Pid, syscall.SIGINT)
	defer func() { t.Logf("parigot dev printed:\n%s", out.String()) }()
	<-copied
	<-copied
	err = dev.Wait()
	var exit *exec.ExitError
	if !errorsAs(err, &exit) || exit.ExitCode() != exitInterrupted {
		t.Errorf("exit: %v, want code %d\n%s", err, exitInterrupted, out.String())
	}
	if strings.Contains(out.String(), "panic") {
		t.Errorf("something panicked:\n%s", out.String())
	}
}

// lockedBuffer is output that goroutines write while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
