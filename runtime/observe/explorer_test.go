package observe

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// explorerPage serves a dashboard whose explorer is e, and calls a method
// from its explorer.
func explorerPage(t *testing.T, e *Explorer) (call func() (int, string)) {
	t.Helper()
	srv := httptest.NewServer(NewDashboard("app", nil, NewMetrics(), nil, nil, e).Handler())
	t.Cleanup(srv.Close)
	return func() (int, string) {
		resp, err := http.Post(srv.URL+"/api/explorer/call/a.v1.A/M", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
}

// echoPath answers with the request's method and path, as the explorer
// sees them.
var echoPath = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Method+" "+r.URL.Path) })

// TestTheExplorerServesOnlyWhileTheServicesDo: before the runtime hands
// the dashboard its explorer, and after it takes it back, the page's calls
// get Connect's "unavailable" at once; in between they reach the explorer,
// which sees paths without the /api/explorer prefix.
func TestTheExplorerServesOnlyWhileTheServicesDo(t *testing.T) {
	e := NewExplorer()
	call := explorerPage(t, e)
	unavailable := func(when string) {
		t.Helper()
		if code, body := call(); code != http.StatusServiceUnavailable || !strings.Contains(body, `"code":"unavailable"`) || !strings.Contains(body, "not serving") {
			t.Errorf("%s: %d %s; want 503, unavailable and that the services are not serving", when, code, body)
		}
	}
	unavailable("before the services serve")
	e.Set(echoPath)
	if code, body := call(); code != http.StatusOK || body != "POST /call/a.v1.A/M" {
		t.Errorf("while the services serve: %d %q; want the explorer's answer to POST /call/a.v1.A/M", code, body)
	}
	e.Set(nil)
	unavailable("after the services stopped")
}

// TestACallWhileTheAppRestartsWaitsForTheNextRun: parigot dev restarting
// the app, a call from the explorer waits for the next run's services
// (the old run's stop in between does not refuse it) and is served by
// them; a call that comes when no run is coming any more is refused, as is
// the one that waited in vain.
func TestACallWhileTheAppRestartsWaitsForTheNextRun(t *testing.T) {
	e := NewExplorer()
	call := explorerPage(t, e)
	e.Set(echoPath)

	e.Restarting(time.Minute)
	e.Set(nil) // the old run stops
	answered := make(chan string, 1)
	go func() {
		code, body := call()
		answered <- http.StatusText(code) + " " + body
	}()
	waitFor(t, "the call to wait for the next run", func() bool { return e.waitingRequests() == 1 })
	e.Set(echoPath) // the next run serves
	if got := <-answered; got != "OK POST /call/a.v1.A/M" {
		t.Errorf("a call made while the app restarted: %s; want the next run's answer", got)
	}

	e.Restarting(time.Minute)
	e.Set(nil)
	go func() {
		code, body := call()
		answered <- http.StatusText(code) + " " + body
	}()
	waitFor(t, "the call to wait for the next run", func() bool { return e.waitingRequests() == 1 })
	e.Down() // the next run did not start
	if got := <-answered; !strings.HasPrefix(got, "Service Unavailable ") || !strings.Contains(got, "not serving") {
		t.Errorf("a call waiting for a run that did not start: %s; want unavailable", got)
	}
	if code, body := call(); code != http.StatusServiceUnavailable {
		t.Errorf("a call once the app is down: %d %s; want 503 at once", code, body)
	}
}

// TestACallTheRestartedAppDoesNotServeInTimeIsToldSo: a call waits for the
// next run for so long only, then is told the app is restarting and what
// to do.
func TestACallTheRestartedAppDoesNotServeInTimeIsToldSo(t *testing.T) {
	e := NewExplorer()
	call := explorerPage(t, e)
	e.Restarting(50 * time.Millisecond)
	code, body := call()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "the app is restarting (parigot dev) and its services did not serve this call within 50ms; call again once parigot dev says the app runs") {
		t.Errorf("a call the next run did not serve in time: %d %s; want unavailable, saying the app is restarting", code, body)
	}
}

// waitFor waits until cond holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
	}
}
