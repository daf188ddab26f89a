package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/internal/browsertest"
	"parigot.dev/parigot/internal/otlptest"
	"parigot.dev/parigot/manifest"
)

// TestDashboard runs helloworld with --dashboard, as a user would, and
// looks at what it serves once the program has ended: Prometheus's
// /metrics, scraped, and the page, in a real headless Chromium.
func TestDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	url := runWithDashboard(t, "../../examples/helloworld")

	t.Run("metrics are scraped in Prometheus's format", func(t *testing.T) {
		body := get(t, url+"metrics")
		for _, want := range []string{
			`parigot_calls_total{caller="hello",code="ok",guest="greeting",method="greeting.v1.Greeting/FetchGreeting"} 1`,
			`parigot_call_duration_seconds_count{guest="greeting",method="greeting.v1.Greeting/FetchGreeting"} 1`,
			`parigot_inbox_wait_seconds_count{guest="greeting",method="greeting.v1.Greeting/FetchGreeting"} 1`,
			`parigot_inbox_calls{guest="greeting"} 0`,
			`parigot_guest_memory_bytes{guest="hello"}`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s:\n%s", want, body)
			}
		}
	})

	t.Run("the guests' lines are kept as records", func(t *testing.T) {
		body := get(t, url+"api/logs")
		if !strings.Contains(body, `"guest":"hello"`) || !strings.Contains(body, `"msg":"Hello, world!"`) {
			t.Errorf("/api/logs lacks hello's line:\n%s", body)
		}
		if body := get(t, url+"api/logs?trace=0102"); strings.TrimSpace(body) != "[]" {
			t.Errorf("/api/logs of a trace no line belongs to: %s", body)
		}
	})

	t.Run("the trace of the call is kept", func(t *testing.T) {
		body := get(t, url+"api/traces")
		if !strings.Contains(body, `"name":"greeting.v1.Greeting/FetchGreeting"`) || !strings.Contains(body, `"guest":"greeting"`) {
			t.Errorf("/api/traces lacks the span of FetchGreeting:\n%s", body)
		}
	})

	t.Run("the explorer calls a method, and says what is wrong with a call", func(t *testing.T) {
		exploreOverHTTP(t, url)
	})

	t.Run("the page draws the topology, the methods and a trace in a browser, and calls a method", func(t *testing.T) {
		browse(t, url)
	})
}

// exploreOverHTTP calls helloworld's FetchGreeting through the dashboard's
// explorer as its page does: a good body, a body that is not JSON, a method
// the app lacks, then a good body again (the explorer serves on).
func exploreOverHTTP(t *testing.T, url string) {
	t.Helper()
	methods := get(t, url+"api/explorer/methods")
	if !strings.Contains(methods, `"service":"greeting.v1.Greeting","method":"FetchGreeting","guest":"greeting"`) || !strings.Contains(methods, `"template":{"name":""}`) {
		t.Errorf("the explorer's methods: %s; want FetchGreeting of greeting with a template of its request", methods)
	}
	for _, c := range []struct {
		method, body string
		status       int
		want         string
	}{
		{"greeting.v1.Greeting/FetchGreeting", `{"name":"explorer"}`, http.StatusOK, `{"greeting":"Hello, explorer!"}`},
		{"greeting.v1.Greeting/FetchGreeting", `{"name":`, http.StatusBadRequest, `{"code":"invalid_argument","message":"the request body is not valid JSON"}`},
		{"greeting.v1.Greeting/FetchGreeting", `{"name":""}`, http.StatusBadRequest, `{"code":"invalid_argument","message":"a name is required"}`},
		{"greeting.v1.Greeting/Nope", `{}`, http.StatusNotFound, `"code":"unimplemented"`},
		{"greeting.v1.Greeting/FetchGreeting", `{"name":"again"}`, http.StatusOK, `{"greeting":"Hello, again!"}`},
	} {
		resp, err := http.Post(url+"api/explorer/call/"+c.method, "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(b), c.want) {
			t.Errorf("calling %s with %s: %s %s; want %d and %s", c.method, c.body, resp.Status, b, c.status, c.want)
		}
		if c.status == http.StatusOK {
			trace := resp.Header.Get("Parigot-Trace")
			waitFor(t, "the span of the explorer's call", func() (bool, string) {
				body := get(t, url+"api/traces")
				return trace != "" && strings.Contains(body, `"traceId":"`+trace+`"`), body
			})
		}
	}
}

// waitFor polls cond until it reports true, for patienceForParigot at
// most: what a page shows arrives when the processes behind it get to it.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(patienceForParigot)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, still no %s:\n%s", patienceForParigot, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDashboardInSplitMode: in split mode every process sends its spans and
// metrics to the dashboard, which shows the trace of helloworld's call,
// made in one process and served in another, and counts it.
func TestDashboardInSplitMode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	url := runWithDashboard(t, "../../examples/helloworld", "--mode=split")
	waitFor(t, "span of FetchGreeting from greeting's process", func() (bool, string) {
		body := get(t, url+"api/traces")
		return strings.Contains(body, `"name":"greeting.v1.Greeting/FetchGreeting"`) && strings.Contains(body, `"guest":"greeting"`), body
	})
	// greeting's process pushes its metrics to the dashboard, its caller
	// named by the call's reply subject, with its inbox and memory.
	for _, want := range []string{
		`parigot_calls_total{caller="hello",code="ok",guest="greeting",method="greeting.v1.Greeting/FetchGreeting"} 1`,
		`parigot_inbox_calls{guest="greeting"} 0`,
		`parigot_guest_memory_bytes{guest="greeting"}`,
	} {
		waitFor(t, want+" in /metrics", func() (bool, string) {
			body := get(t, url+"metrics")
			return strings.Contains(body, want), body
		})
	}
	// The supervisor hands the children's lines to the dashboard.
	if body := get(t, url+"api/logs"); !strings.Contains(body, `"guest":"hello"`) || !strings.Contains(body, `"msg":"Hello, world!"`) {
		t.Errorf("/api/logs lacks hello's line:\n%s", body)
	}
	t.Run("the explorer calls a service in its own process", func(t *testing.T) {
		exploreOverHTTP(t, url)
	})
	t.Run("the page shows every process's guests and lines", func(t *testing.T) {
		ctx := openBrowser(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-refreshed="2"]`))); err != nil {
			t.Fatalf("driving Chromium: %v", err)
		}
		guests, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#guests tbody tr")].map(r => [...r.cells].map(c => c.textContent).join(" ")).join("\n")`))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`(?m)^greeting 0 [1-9][0-9.]* MiB 0$`).MatchString(guests) || !regexp.MustCompile(`(?m)^hello 0 [1-9][0-9.]* MiB 0$`).MatchString(guests) {
			t.Errorf("the guests table shows\n%s\nwant greeting and hello, each with an empty inbox and its memory", guests)
		}
		logs, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#logs")))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs, "hello | Hello, world!") {
			t.Errorf("the latest output lacks hello's line: %q", logs)
		}
		explore(t, ctx, "dashboard-split-explorer.png")
	})
}

// TestTheLinesOfATraceInSplitMode runs the chain app (start -> front ->
// back) in split mode with a dashboard and text output: back prints a line
// while it serves front's call, in a process of its own, and the dashboard
// shows that line among the lines of the trace, which its child sent the
// supervisor with the trace's id.
func TestTheLinesOfATraceInSplitMode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	url := runWithDashboard(t, "testdata/apps/chain", "--mode=split")
	var trace string
	waitFor(t, "trace of the chain with both spans", func() (bool, string) {
		body := get(t, url+"api/traces")
		var traces []struct {
			TraceID string `json:"traceId"`
			Root    string `json:"root"`
			Spans   []any  `json:"spans"`
		}
		if err := json.Unmarshal([]byte(body), &traces); err != nil {
			t.Fatal(err)
		}
		for _, tr := range traces {
			if tr.Root == "test.Front/Relay" && len(tr.Spans) == 2 {
				trace = tr.TraceID
				return true, body
			}
		}
		return false, body
	})
	body := get(t, url+"api/logs?trace="+trace)
	if !strings.Contains(body, `"guest":"back"`) || !strings.Contains(body, `"method":"test.Back/Relay"`) || !strings.Contains(body, `"msg":"back got traced"`) {
		t.Errorf("the lines of the chain's trace: %s; want back's, printed while serving Relay", body)
	}
	if strings.Contains(body, "relayed: traced") {
		t.Errorf("the lines of the chain's trace include start's, printed outside any call of it: %s", body)
	}
}

// runWithDashboard starts parigot run --dashboard on a free loopback port
// (with more flags) and returns the dashboard's URL once the app's programs
// have ended (its services and the dashboard serve on); the test's cleanup
// interrupts it, and expects the programs' exit code, 0 (or, for an app
// without programs, 0 as no guest failed).
func runWithDashboard(t *testing.T, app string, flags ...string) string {
	t.Helper()
	p := startParigot(t, "", nil, append(append([]string{"run", "--dashboard", "127.0.0.1:0"}, flags...), app)...)
	url := p.waitFor(t, &p.stderr, regexp.MustCompile(`dashboard on (http://\S+/)`), 1)[1]
	p.waitFor(t, &p.stderr, regexp.MustCompile(`the dashboard serves? until interrupted`), 1)
	t.Cleanup(func() {
		p.signal(syscall.SIGINT)
		if err := p.wait(t); err != nil {
			t.Errorf("parigot after Ctrl-C: %v\n%s", err, p.said())
		}
		said := p.said()
		if !strings.Contains(said, "parigot: interrupted; the app's programs had ended, and give the run its exit code\n") &&
			!strings.Contains(said, "parigot: interrupted; the app has no programs, so the run ends with 0 unless a guest failed\n") {
			t.Errorf("parigot ended by Ctrl-C without saying how:\n%s", said)
		}
	})
	return url
}

// TestRunSendsSpansToOTLP runs helloworld with --otlp pointing at a
// receiver that decodes the collector protocol, given as its base URL and
// as its full traces endpoint (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT's form),
// and expects the span of its one call either way, and no warning.
func TestRunSendsSpansToOTLP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	for _, form := range []string{"", "/v1/traces"} {
		t.Run("--otlp URL"+form, func(t *testing.T) {
			rcv := otlptest.Start(t)
			p := startParigot(t, "", nil, "run", "--otlp", rcv.URL()+form, "../../examples/helloworld")
			if err := p.wait(t); err != nil {
				t.Fatalf("parigot run --otlp: %v\n%s", err, p.said())
			}
			spans := rcv.WaitFor(t, patienceForParigot, func(s []otlptest.Span) bool { return len(s) > 0 })
			s := spans[0]
			if len(spans) != 1 || s.Name != "greeting.v1.Greeting/FetchGreeting" || s.Attrs["parigot.guest"] != "greeting" || s.Resource["service.name"] != "helloworld" {
				t.Errorf("spans: %+v; want the one of FetchGreeting, served by greeting, in helloworld", spans)
			}
			if strings.Contains(p.said(), "sending spans") {
				t.Errorf("parigot warned of its spans:\n%s", p.said())
			}
		})
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return string(b)
}

// artifacts is where a test keeps what it shows a person (screenshots):
// $PARIGOT_ARTIFACTS when set, else the test's temporary directory.
func artifacts(t *testing.T) string {
	if dir := os.Getenv("PARIGOT_ARTIFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// browse opens the dashboard in headless Chromium, waits until the page has
// read the stats twice (so that it has rates), checks what it shows and
// keeps a screenshot.
func browse(t *testing.T, url string) {
	ctx := openBrowser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`body[data-refreshed="2"]`)),
	); err != nil {
		t.Fatalf("driving Chromium: %v", err)
	}
	text := func(sel string) string {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return s
	}
	app, methods, guests := text("#app"), text("#methods tbody"), text("#guests tbody")
	edges, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#topology g.edge")].map(e => e.dataset.from + "->" + e.dataset.to).join(",")`))
	if err != nil {
		t.Fatal(err)
	}
	spans, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#waterfall .span .label")].map(e => e.textContent.trim()).join(",")`))
	if err != nil {
		t.Fatal(err)
	}
	if spans != "greeting · FetchGreeting" {
		t.Errorf("the waterfall shows %q, want the one span of FetchGreeting", spans)
	}
	searchTraces(t, ctx)
	if logs := text("#logs"); !strings.Contains(logs, "hello | Hello, world!") {
		t.Errorf("the latest output lacks hello's line: %q", logs)
	}
	explore(t, ctx, "dashboard-explorer.png")
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if app != "helloworld" {
		t.Errorf("app shown: %q, want helloworld", app)
	}
	if !strings.Contains(methods, "greeting.v1.Greeting/FetchGreeting") {
		t.Errorf("the methods table lacks FetchGreeting:\n%s", methods)
	}
	if edges != "hello->greeting" {
		t.Errorf("topology edges: %q, want hello->greeting", edges)
	}
	if !strings.Contains(guests, "hello") || !strings.Contains(guests, "greeting") {
		t.Errorf("the guests table lacks a guest:\n%s", guests)
	}
	file := filepath.Join(artifacts(t), "dashboard.png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)
}

// searchTraces searches the recent traces as a user looking for a slow
// call does, and checks what the table shows; it leaves the search empty.
func searchTraces(t *testing.T, ctx context.Context) {
	t.Helper()
	search := func(min, method, sort, until string) {
		t.Helper()
		set := fmt.Sprintf(`(() => {
			document.getElementById("trace-min").value = %q;
			document.getElementById("trace-method").value = %q;
			document.getElementById("trace-sort").value = %q;
			document.getElementById("trace-sort").dispatchEvent(new Event("change"));
			return true;
		})()`, min, method, sort)
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](set)); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](until, chromedp.WithPollingTimeout(time.Minute))); err != nil {
			rows, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#traces")))
			status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#trace-search-status")))
			t.Fatalf("the search min=%q method=%q sort=%q: waiting for %s: %v; the table:\n%s\n%s", min, method, sort, until, err, rows, status)
		}
	}
	rows := `[...document.querySelectorAll("#traces tbody tr")]`
	search("1ms", "nosuchmethod", "start", rows+`.length === 0 && document.getElementById("trace-search-status").textContent === ""`)
	search("slow", "", "start", `document.getElementById("trace-search-status").textContent.includes("min=slow is not a duration: give one such as 100ms or 1.5s")`)
	search("0s", "fetchgreeting", "duration", rows+`.length > 0 && `+rows+`.every(r => r.cells[4].textContent.startsWith("greeting.v1.Greeting/FetchGreeting (greeting) "))`)
	search("", "", "start", rows+`.length > 0`)
}

// openBrowser starts headless Chromium for the test, which closes it.
func openBrowser(t *testing.T) context.Context {
	return browsertest.Start(t, 2*time.Minute, chromedp.WindowSize(1100, 700))
}

// openExplorer opens the dashboard at url in Chromium, once its explorer
// can call, and returns the tab and what an element of the page says.
func openExplorer(t *testing.T, url string) (context.Context, func(sel string) string) {
	t.Helper()
	ctx := openBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitEnabled(chromedp.CSS("#explorer-call"))); err != nil {
		t.Fatalf("the explorer's call button never became usable: %v", err)
	}
	return ctx, func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return s
	}
}

// explore uses the page's API explorer as a person would: the method is
// helloworld's one, the body a template of its request; they type a body
// and press call, and read the reply and the call's trace; then a body that
// is not JSON, and read the error.
func explore(t *testing.T, ctx context.Context, screenshot string) {
	t.Helper()
	text := func(sel string) string {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return s
	}
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(chromedp.CSS("#explorer-call"))); err != nil {
		t.Fatalf("the explorer's call button never became usable: %v", err)
	}
	method, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#explorer-method").selectedOptions[0].textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if method != "greeting.v1.Greeting/FetchGreeting (greeting)" {
		t.Errorf("the explorer offers %q, want helloworld's FetchGreeting", method)
	}
	template, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#explorer-body")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(template, `"name": ""`) {
		t.Errorf("the body starts as %q, want a template with the request's field name", template)
	}
	call := func(body string, n int) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#explorer-body").value = ""; true`)); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS("#explorer-body"), body),
			pressCall,
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`body[data-called="%d"]`, n))),
		); err != nil {
			t.Fatalf("calling with %s: %v", body, err)
		}
	}
	call(`{"name": "browser"}`, 1)
	if status, reply := text("#explorer-status"), text("#explorer-reply"); !strings.HasPrefix(status, "ok") || !strings.Contains(reply, `"greeting": "Hello, browser!"`) {
		t.Errorf("after the call the explorer shows %q and %q, want ok and the greeting", status, reply)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#explorer-waterfall .span"))); err != nil {
		t.Fatalf("the call's trace never showed: %v", err)
	}
	if spans := text("#explorer-waterfall .span .label"); !strings.Contains(spans, "greeting · FetchGreeting") {
		t.Errorf("the call's trace shows %q, want greeting's FetchGreeting", spans)
	}
	// The screenshot shows the trace of the call; the bad body comes after.
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(artifacts(t), screenshot)
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	call(`{"name": `, 2)
	if status := text("#explorer-status"); status != "invalid_argument: the request body is not valid JSON" {
		t.Errorf("after a body that is not JSON the explorer shows %q, want invalid_argument and why", status)
	}
	call(`{"name": "again"}`, 3)
	if reply := text("#explorer-reply"); !strings.Contains(reply, "Hello, again!") {
		t.Errorf("after an error the explorer's next call shows %q, want its greeting", reply)
	}
}

func TestADashboardBeyondThisMachineIsWarnedAbout(t *testing.T) {
	for _, c := range []struct {
		addr string
		warn bool
	}{{"127.0.0.1:0", false}, {"0.0.0.0:0", true}} {
		var stderr strings.Builder
		d, err := startDashboard(c.addr, &manifest.App{Name: "shop"}, nil, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		d.stop()
		if got := strings.Contains(stderr.String(), "warning: the dashboard listens beyond this machine"); got != c.warn {
			t.Errorf("--dashboard %s: warned %v, want %v:\n%s", c.addr, got, c.warn, stderr.String())
		}
	}
}

// An app without programs is not said to have had them end: its services
// and the dashboard serve from the start; nor is a split-mode process
// whose --only names no program.
func TestTheDashboardSaysWhyTheServicesServeOn(t *testing.T) {
	app, err := builder.Load("testdata/apps/chain") // services front and back, program start
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		noPrograms string
		only       []string
		want       string
		// interrupted is what Ctrl-C then says.
		interrupted string
	}{
		{"", nil, "parigot: the app's programs have ended; its services and the dashboard serve until interrupted (Ctrl-C)\n",
			"parigot: interrupted; the app's programs had ended, and give the run its exit code\n"},
		{"", []string{"back", "start"}, "parigot: the app's programs have ended; its services and the dashboard serve until interrupted (Ctrl-C)\n",
			"parigot: interrupted; the app's programs had ended, and give the run its exit code\n"},
		{"", []string{"front", "back"}, "parigot: no program of the app runs here (--only); its services and the dashboard serve until interrupted (Ctrl-C)\n",
			"parigot: interrupted; no program of the app runs here (--only), so the run ends with 0 unless a guest failed\n"},
		{"the app has no programs", nil, "parigot: the app has no programs; its services and the dashboard serve until interrupted (Ctrl-C)\n",
			"parigot: interrupted; the app has no programs, so the run ends with 0 unless a guest failed\n"},
	} {
		var out, ctrlC strings.Builder
		d := &dashboard{stderr: &out, noPrograms: c.noPrograms}
		d.only(app, c.only)
		d.programsEnded()
		if out.String() != c.want {
			t.Errorf("%q, --only %v: %q, want %q", c.noPrograms, c.only, out.String(), c.want)
		}
		if d.interrupted(&ctrlC); ctrlC.String() != c.interrupted {
			t.Errorf("%q, --only %v, then Ctrl-C: %q, want %q", c.noPrograms, c.only, ctrlC.String(), c.interrupted)
		}
	}
}

// TestATracingReceiverThatDoesNotAnswerIsSaidOnceInSplitMode runs the
// chain app (two services, each in a process of its own, each with spans
// to send) in split mode with --otlp at a port where nothing listens: the
// run says so once, as parigot's own line, as single mode does, not once
// per process under its guest's prefix.
func TestATracingReceiverThatDoesNotAnswerIsSaidOnceInSplitMode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nowhere := "http://" + ln.Addr().String()
	ln.Close()
	for _, format := range []string{"text", "json"} {
		p := startParigot(t, "", nil, "run", "--mode=split", "--log-format", format, "--otlp", nowhere, "testdata/apps/chain")
		if err := p.wait(t); err != nil {
			t.Fatalf("parigot run: %v\n%s", err, p.said())
		}
		var said []string
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			if strings.Contains(line, "Spans are dropped until it answers") {
				said = append(said, line)
			}
		}
		own := "parigot: sending spans to " + nowhere + "/v1/traces: "
		if format == "json" {
			own = `{"guest":"parigot",`
		}
		if len(said) != 1 || !strings.HasPrefix(said[0], own) {
			t.Errorf("--log-format %s: the run said of the receiver\n%s\nwant one line of parigot's own\n%s", format, strings.Join(said, "\n"), p.said())
		}
	}
}

// pressCall presses the explorer's call button as its click handler sees
// a press. A mouse click (chromedp.Click) lands where the button was when
// chromedp read its position: the page's refreshes add rows above it
// (the methods' table, the traces), and a refresh between the reading and
// the click sent it elsewhere, so the call never happened.
var pressCall = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	_, err := chromedp.Evaluate[bool](`(() => { const b = document.querySelector("#explorer-call"); if (b.disabled) throw new Error("the call button is disabled"); b.click(); return true; })()`)(ctx, t)
	return err
})
