package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAServiceChecksTheAuthorizationTheGatewayPassesOn runs an app whose
// gateway passes on authorization and x-request-id, in both modes: its
// WhoAmI refuses a call without Authorization (unauthenticated, 401), and
// with it answers the headers it got, which hold neither the client's
// cookie nor any header the gateway's block does not list.
func TestAServiceChecksTheAuthorizationTheGatewayPassesOn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	for _, mode := range []string{"single", "split"} {
		t.Run(mode, func(t *testing.T) {
			p := startParigot(t, "", nil, "run", "--mode="+mode, "testdata/apps/served")
			url := p.waitURL(t)
			whoAmI := func(header ...string) (int, string) {
				t.Helper()
				code, body, err := postJSON(url+"/test.Greeter/WhoAmI", "{}", header...)
				if err != nil {
					t.Fatalf("WhoAmI: %v\n%s", err, p.said())
				}
				return code, body
			}
			if code, body := whoAmI("Cookie", "session=s"); code != http.StatusUnauthorized || !strings.Contains(body, `"code":"unauthenticated"`) || !strings.Contains(body, "WhoAmI needs an Authorization header") {
				t.Errorf("without Authorization: %d %s, want 401 unauthenticated", code, body)
			}
			code, body := whoAmI("Authorization", "Bearer t0ken", "X-Request-Id", "r-1", "Cookie", "session=s", "X-Other", "o")
			if want := `"authorization=Bearer t0ken;x-request-id=r-1"`; code != http.StatusOK || body != want {
				t.Errorf("with Authorization: %d %s, want 200 %s", code, body, want)
			}
			p.stop(t)
		})
	}
}

// TestTheExplorerGivesAServiceTheAuthorizationItChecks runs the same app
// with --dashboard: the explorer calls WhoAmI without a header and gets
// unauthenticated, and with the headers its user gives (Parigot-Header-*
// over HTTP, in both modes; lines of the headers box on the page, in
// Chromium) gets them back as the method got them, and none of the
// page's own.
func TestTheExplorerGivesAServiceTheAuthorizationItChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	overHTTP := func(t *testing.T, url string) {
		// In split mode the explorer calls once every child's service is
		// ready, which the end of the program does not wait for.
		waitFor(t, "explorer serving the app's methods", func() (bool, string) {
			resp, err := http.Get(url + "api/explorer/methods")
			if err != nil {
				return false, err.Error()
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode == http.StatusOK, string(body)
		})
		call := func(header ...string) (int, string) {
			t.Helper()
			code, body, err := postJSON(url+"api/explorer/call/test.Greeter/WhoAmI", "{}", header...)
			if err != nil {
				t.Fatal(err)
			}
			return code, body
		}
		if code, body := call("Authorization", "Bearer page", "Cookie", "session=s"); code != http.StatusUnauthorized || !strings.Contains(body, "WhoAmI needs an Authorization header") {
			t.Errorf("without Parigot-Header-Authorization: %d %s, want 401 and the method's refusal", code, body)
		}
		code, body := call("Parigot-Header-Authorization", "Bearer t0ken", "Parigot-Header-X-Request-Id", "r-1", "Cookie", "session=s")
		if want := `"authorization=Bearer t0ken;x-request-id=r-1"`; code != http.StatusOK || body != want {
			t.Errorf("with Parigot-Header-Authorization: %d %s, want 200 %s", code, body, want)
		}
	}
	t.Run("over HTTP, in split mode", func(t *testing.T) {
		overHTTP(t, runWithDashboard(t, "testdata/apps/served", "--mode=split"))
	})
	url := runWithDashboard(t, "testdata/apps/served")
	t.Run("over HTTP", func(t *testing.T) { overHTTP(t, url) })
	t.Run("in the page", func(t *testing.T) {
		ctx, text := openExplorer(t, url)
		if err := chromedp.Do(ctx,
			chromedp.SetValue(chromedp.CSS("#explorer-method"), "2"), // Crash, Hi, WhoAmI
			chromedp.SetValue(chromedp.CSS("#explorer-body"), "{}"),
		); err != nil {
			t.Fatalf("choosing WhoAmI: %v", err)
		}
		// callWith calls WhoAmI with the headers box holding lines, the
		// n-th call, and returns the status the explorer shows.
		callWith := func(lines string, n int) string {
			t.Helper()
			if err := chromedp.Do(ctx,
				chromedp.SetValue(chromedp.CSS("#explorer-headers"), lines),
				pressCall,
				chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`body[data-called="%d"]`, n))),
			); err != nil {
				t.Fatalf("calling WhoAmI with headers %q: %v", lines, err)
			}
			return text("#explorer-status")
		}
		if status, reply := callWith("Authorization: Bearer t0ken\nx-request-id: r-2", 1), text("#explorer-reply"); status != "ok · test.Greeter/WhoAmI" || reply != `"authorization=Bearer t0ken;x-request-id=r-2"` {
			t.Errorf("the explorer shows %q and %q, want ok and the headers WhoAmI got", status, reply)
		}
		if status := callWith("traceparent: 00-01", 2); !strings.HasPrefix(status, "invalid_argument: request header traceparent (Parigot-Header-Traceparent) is tracing's") {
			t.Errorf("with a traceparent header the explorer shows %q, want invalid_argument and why", status)
		}
		if status := callWith("no colon here", 3); status != `header line 1 is not "name: value" with an HTTP header name: "no colon here"` {
			t.Errorf("with a line that is not a header the explorer shows %q", status)
		}
	})
}

// postJSON posts body to url as JSON, with the headers given as name,
// value pairs (each added: a name may come twice), and returns the
// status and the reply's body, trimmed.
func postJSON(url, body string, header ...string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(reply)), err
}
