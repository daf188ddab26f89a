package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"parigot.dev/parigot/internal/otlptest"
)

// TestDevShowsWhatTheAppDoes runs parigot dev with the flags parigot run
// takes to show an app: the dashboard serves the app's topology, calls,
// metrics and explorer at the address it prints, through a reload and a
// restart of the app (parigot.hcl renames it), at that one address (a
// call from the explorer during the restart waits for it); the spans go
// to an OTLP receiver, under the app's name of the moment; the guests'
// lines, and parigot dev's own, are JSON records.
func TestDevShowsWhatTheAppDoes(t *testing.T) {
	app, env := newShop(t)
	service := filepath.Join(app, "shop", "main.go")
	rcv := otlptest.Start(t)
	p := startParigot(t, app, env, "dev", "--dashboard", "127.0.0.1:0", "--log-format", "json", "--otlp", rcv.URL())
	url := p.waitFor(t, &p.stderr, regexp.MustCompile(`parigot: dashboard on (http://[0-9.:]+/) \(metrics: /metrics\)`), 1)[1]
	greeted := regexp.MustCompile(`^\{.*"guest":"hello".*"msg":"Hello, world, from shop!"`)
	p.waitFor(t, &p.stdout, greeted, 1)

	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, p.said())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s %s", path, resp.Status, b)
		}
		return string(b)
	}
	explore := func(name string) string {
		t.Helper()
		resp, err := http.Post(url+"api/explorer/call/shop.v1.Shop/Greet", "application/json", strings.NewReader(`{"name":"`+name+`"}`))
		if err != nil {
			t.Fatalf("calling Greet from the explorer: %v\n%s", err, p.said())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	served := func(when, appName, greeting string) {
		t.Helper()
		if got := get("api/topology"); !strings.Contains(got, `"app":"`+appName+`"`) || !strings.Contains(got, `"name":"hello"`) {
			t.Errorf("the dashboard's topology %s: %s", when, got)
		}
		if got := explore("dev"); !strings.Contains(got, greeting+", dev, from shop!") {
			t.Errorf("Greet from the dashboard's explorer %s: %s, want %q", when, got, greeting)
		}
		if got := get("api/stats"); !strings.Contains(got, `"method":"shop.v1.Shop/Greet"`) {
			t.Errorf("the dashboard's stats %s count no call of Greet: %s", when, got)
		}
		if got := get("metrics"); !strings.Contains(got, `parigot_calls_total{caller="_gateway-_explorer",code="ok",guest="shop",method="shop.v1.Shop/Greet"}`) {
			t.Errorf("/metrics %s count no call from the explorer:\n%s", when, got)
		}
		if got := get("api/traces"); !strings.Contains(got, `"name":"shop.v1.Shop/Greet"`) {
			t.Errorf("the dashboard's traces %s: %s", when, got)
		}
	}
	served("at the start", "shop", "Hello")

	src, err := os.ReadFile(service)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(service, bytes.Replace(src, []byte(`"Hello, "`), []byte(`"Howdy, "`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, &p.stderr, regexp.MustCompile(`^\{.*"guest":"parigot".*"msg":"parigot dev: reloaded shop in `), 1)
	served("after a reload", "shop", "Howdy")

	manifestFile := filepath.Join(app, "parigot.hcl")
	hcl, err := os.ReadFile(manifestFile)
	if err != nil {
		t.Fatal(err)
	}
	ran := strings.Count(p.stdout.String(), `"msg":"Howdy, world, from shop!"`)
	if err := os.WriteFile(manifestFile, bytes.Replace(hcl, []byte(`app "shop"`), []byte(`app "store"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, &p.stderr, regexp.MustCompile(`parigot dev: parigot.hcl changed: restarting the app`), 1)
	// A call made as the app restarts waits for the next run, if the run
	// before has stopped serving it.
	if got := explore("restart"); !strings.Contains(got, "Howdy, restart, from shop!") {
		t.Errorf("Greet from the dashboard's explorer during a restart of the app: %s, want %q", got, "Howdy")
	}
	p.waitFor(t, &p.stdout, regexp.MustCompile(`"msg":"Howdy, world, from shop!"`), ran+1)
	served("after a restart of the app", "store", "Howdy")
	// The spans of the calls before the restart, and after, each under
	// the app's name when they were made (WaitFor fails t otherwise).
	rcv.WaitFor(t, patienceForParigot, func(spans []otlptest.Span) bool {
		under := func(app string) bool {
			return slices.ContainsFunc(spans, func(s otlptest.Span) bool {
				return s.Resource["service.name"] == app && s.Name == "shop.v1.Shop/Greet"
			})
		}
		return under("shop") && under("store")
	})
	if n := strings.Count(p.stderr.String(), "dashboard on"); n != 1 {
		t.Errorf("the dashboard's address was said %d times, want once:\n%s", n, p.said())
	}

	for line := range strings.Lines(p.stdout.String()) {
		var record map[string]any
		if err := json.Unmarshal([]byte(line), &record); err != nil || record["guest"] == nil {
			t.Errorf("a line of the guests' output is no JSON record with --log-format json: %q", line)
		}
	}
	p.signal(syscall.SIGINT)
	err = p.wait(t)
	p.wantInterrupted(t, err)
}
