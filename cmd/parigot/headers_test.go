package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
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
				req, _ := http.NewRequest(http.MethodPost, url+"/test.Greeter/WhoAmI", strings.NewReader("{}"))
				req.Header.Set("Content-Type", "application/json")
				for i := 0; i < len(header); i += 2 {
					req.Header.Add(header[i], header[i+1])
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("WhoAmI: %v\n%s", err, p.said())
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, strings.TrimSpace(string(body))
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
