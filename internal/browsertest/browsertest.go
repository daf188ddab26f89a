// Package browsertest starts a real headless Chromium for tests, driven by
// chromedp: the dashboard's page and the gateway's CORS are tested in the
// browser users have. A machine without Chromium skips those tests, unless
// PARIGOT_REQUIRE_TOOLS is set (CI), where they fail instead.
package browsertest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path returns where Chromium is: $PARIGOT_CHROMIUM, or Debian's binary
// (/usr/lib/chromium/chromium), or a launcher on the path
// (/usr/bin/chromium, chromium-browser). Debian's launcher is a shell
// script that reads /etc/chromium.d first, and one of its checks there
// failed now and then on a busy machine ("[: ...: unexpected operator"),
// failing the test; the binary itself takes chromedp's flags as they are.
// Without Chromium the test is skipped, or fails when
// PARIGOT_REQUIRE_TOOLS is set.
func Path(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("PARIGOT_CHROMIUM"), "/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("PARIGOT_REQUIRE_TOOLS") != "" {
		t.Fatal("no Chromium, and PARIGOT_REQUIRE_TOOLS is set: install Debian's chromium package (see .ci/run)")
	}
	t.Skip("no Chromium at /usr/bin/chromium (apt-get install chromium); CI runs this test")
	return ""
}

// Start starts a headless Chromium of its own and returns a chromedp
// context of a tab in it, bounded by timeout; it is stopped when the test
// ends.
func Start(t testing.TB, timeout time.Duration, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	all := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Path(t)),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox refuses to start
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(all, opts...)...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	return ctx
}
