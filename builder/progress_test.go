package builder

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressPrintsALinePerStepWithItsDuration(t *testing.T) {
	var out bytes.Buffer
	p := &progress{w: &out}
	p.begin("greeting")
	p.step(time.Now().Add(-1500*time.Millisecond), "compiled service %s", "greeting")
	p.end("greeting")
	if got := out.String(); !strings.HasPrefix(got, "parigot: compiled service greeting (1.5") || strings.Contains(got, "\r") {
		t.Errorf("not live: got %q, want one plain line with the duration", got)
	}
}

func TestLiveProgressKeepsAStatusLineOfWhatIsRunning(t *testing.T) {
	var out bytes.Buffer
	p := &progress{w: &out, live: true}
	p.begin("hello")
	p.begin("greeting")
	if !strings.HasSuffix(out.String(), "parigot: compiling greeting, hello ...") {
		t.Errorf("status line = %q, want both running guests", out.String())
	}
	p.step(time.Now(), "compiled service greeting")
	p.end("greeting")
	p.end("hello")
	p.clear()
	final := out.String()
	if !strings.Contains(final, "\r\x1b[Kparigot: compiled service greeting (") {
		t.Errorf("the step line did not replace the status line: %q", final)
	}
	if !strings.HasSuffix(final, "\r\x1b[K") {
		t.Errorf("the status line was left on screen: %q", final)
	}
}
