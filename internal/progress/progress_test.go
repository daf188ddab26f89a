package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"parigot.dev/parigot/internal/syncbuf"
)

func TestProgressPrintsALinePerStepWithItsDuration(t *testing.T) {
	var out bytes.Buffer
	p := &Reporter{w: &out}
	p.Begin("greeting")
	p.Step(time.Now().Add(-1500*time.Millisecond), "compiled service %s", "greeting")
	p.End("greeting")
	if got := out.String(); !strings.HasPrefix(got, "parigot: compiled service greeting (1.5") || strings.Contains(got, "\r") {
		t.Errorf("not live: got %q, want one plain line with the duration", got)
	}
}

func TestLiveProgressKeepsAStatusLineOfWhatIsRunning(t *testing.T) {
	var out bytes.Buffer
	p := &Reporter{w: &out, live: true}
	p.Begin("hello")
	p.Begin("greeting")
	if !strings.HasSuffix(out.String(), "parigot: compiling greeting, hello ...") {
		t.Errorf("status line = %q, want both running guests", out.String())
	}
	p.Step(time.Now(), "compiled service greeting")
	p.End("greeting")
	p.End("hello")
	p.Clear()
	final := out.String()
	if !strings.Contains(final, "\r\x1b[Kparigot: compiled service greeting (") {
		t.Errorf("the step line did not replace the status line: %q", final)
	}
	if !strings.HasSuffix(final, "\r\x1b[K") {
		t.Errorf("the status line was left on screen: %q", final)
	}
}

func TestAWatchedStepSaysItIsAliveEveryHeartbeat(t *testing.T) {
	var out syncbuf.Buffer
	p := &Reporter{w: &out, every: 10 * time.Millisecond}
	p.Begin("greeting")
	stop := p.Watch()
	for !strings.Contains(out.String(), "parigot: still compiling greeting") {
		time.Sleep(time.Millisecond)
	}
	stop()
	p.End("greeting")
}

func TestTheHeartbeatNamesEachStepWithItsTimeSoFar(t *testing.T) {
	var out bytes.Buffer
	p := &Reporter{w: &out}
	p.Begin("hello")
	p.Begin("greeting")
	now := time.Now()
	p.running["greeting"] = now.Add(-20500 * time.Millisecond)
	p.running["hello"] = now.Add(-300 * time.Millisecond)
	p.tick(now)
	if got, want := out.String(), "parigot: still compiling greeting (20s), hello\n"; got != want {
		t.Errorf("heartbeat = %q, want %q", got, want)
	}
	out.Reset()
	p.End("greeting")
	p.End("hello")
	p.tick(now)
	if out.Len() != 0 {
		t.Errorf("a heartbeat with nothing running: %q", out.String())
	}
}

func TestTheLiveStatusLineShowsHowLongEachStepHasRun(t *testing.T) {
	var out bytes.Buffer
	p := &Reporter{w: &out, live: true}
	p.Begin("greeting")
	p.running["greeting"] = time.Now().Add(-12 * time.Second)
	p.tick(time.Now())
	if !strings.HasSuffix(out.String(), "\r\x1b[Kparigot: compiling greeting (12s) ...") {
		t.Errorf("status line = %q, want it redrawn with the time so far", out.String())
	}
}
