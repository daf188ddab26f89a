package split

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/internal/native"
)

// A call through the NATS server from a caller on this machine counts its
// deadline from its sending, as one over a direct connection does: a call
// that sat in the server's buffers or in its replica's socket past it
// (the replica's process stopped, then resumed) reaches the service due,
// and is dropped unrun there. From another machine, whose clock is not
// this one's, it counts from its arrival; so does a call from a caller
// that says nothing of its sending (an older parigot).
func TestANATSCallsDeadlineCountsFromItsSendingOnThisMachine(t *testing.T) {
	srv := startIdentityServer(t)
	f := serveSeen(t, srv, true)
	caller := callerAs(t, srv, "ticker")
	got := make(replies, 1)
	prefix, err := caller.inbox(got, "echo")
	if err != nil {
		t.Fatal(err)
	}
	sent := time.Now().Add(-time.Second).UnixNano()
	const timeout = int64(500 * time.Millisecond)
	for _, c := range []struct {
		name        string
		sent        string // headerSent; "": none
		fromSending bool
	}{
		{"from this machine", sentAt(sent, machineID()), true},
		{"from another machine", sentAt(sent, "machine-b"), false},
		{"from a caller that says nothing of its sending", "", false},
		{"from a caller whose sending is no time", "yesterday@" + machineID(), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := nats.NewMsg(caller.subj.call("test.Echo"))
			m.Reply = prefix + ".echo.7"
			m.Header.Set(headerMethod, "test.Echo/Echo")
			m.Header.Set(headerTimeout, fmt.Sprint(timeout))
			if c.sent != "" {
				m.Header.Set(headerSent, c.sent)
			}
			m.Data = []byte("x")
			published := time.Now().UnixNano()
			if err := caller.nc.PublishMsg(m); err != nil {
				t.Fatal(err)
			}
			var ev abi.Event
			select {
			case ev = <-f.got:
			case <-time.After(patience):
				t.Fatal("the replica took no call")
			}
			got.next(t)
			switch {
			case c.fromSending && ev.Deadline != sent+timeout:
				t.Errorf("the call's deadline is %v after its sending, want %v", time.Duration(ev.Deadline-sent), time.Duration(timeout))
			case !c.fromSending && ev.Deadline < published+timeout:
				t.Errorf("the call's deadline is %v after its publication, want at least %v from its arrival", time.Duration(ev.Deadline-published), time.Duration(timeout))
			}
		})
	}
}

// startNATSOnlyChild starts name, a service of guests, in a process of its
// own (this test binary) that takes its calls over NATS only, connected
// with conn; it returns the process, ready, the URL of its /metrics, and
// what it says. The process ends with the test.
func startNATSOnlyChild(t *testing.T, conn Conn, guests []*host.GuestSpec, name string) (*os.Process, string, *lines.Buffer) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(guests)
	metricsAt := filepath.Join(t.TempDir(), "metrics")
	cmd := exec.Command(exe, name)
	out := new(lines.Buffer)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), envChild+"="+string(spec), EnvURL+"="+conn.URL, envChildSeed+"="+conn.Seed,
		envChildNATSOnly+"=1", envChildMetrics+"="+metricsAt)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(patience):
			cmd.Process.Kill()
			<-done
		}
	})
	var url []byte
	waitFor(t, "the child to serve its metrics", func() bool { url, _ = os.ReadFile(metricsAt); return len(url) > 0 })
	return cmd.Process, string(url), out
}

// stoppedProcess reports whether the process pid is stopped by a signal,
// as /proc says; true where there is no /proc to ask.
func stoppedProcess(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	_, rest, ok := strings.Cut(string(stat[bytes.LastIndexByte(stat, ')')+1:]), " ")
	return ok && strings.HasPrefix(rest, "T")
}

// scrape is the lines of the /metrics at url that start with prefix.
func scrape(t *testing.T, url, prefix string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A replica that takes its calls over NATS only, whose process was stopped
// (SIGSTOP) while calls to it waited in the server's buffers and its
// socket until their deadlines passed, drops them unrun when it resumes
// (SIGCONT), counted in parigot_calls_dropped_total as expired, as a
// replica does with such calls over a direct connection and as single
// mode does with calls whose deadline passed in the inbox: their caller
// has had deadline exceeded already. It had counted their deadlines from
// their arrival, after the resumption, and ran them all.
func TestAFrozenReplicaOverNATSDropsTheCallsThatExpiredMeanwhile(t *testing.T) {
	guests := backAndTicker(t)
	srv, err := StartServer("test", guests)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	proc, metrics, out := startNATSOnlyChild(t, srv.Conn("back"), guests, "back")
	caller := NewNetwork(connectAs(t, srv, "ticker"), "test", guests, "ticker")
	t.Cleanup(func() { caller.Close() })
	ctx := t.Context()
	if err := caller.WaitReady(ctx, []string{"back"}, patience, nil); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if known(caller, "back") != 0 {
		t.Fatal("the caller has a direct connection to a replica that takes its calls over NATS only")
	}
	back := caller.Service("test.Back")
	nc := native.NewCaller("ticker")
	call := callBack(nc, back)
	if got, err := call(ctx, "Count", ""); err != nil || got != "relayed 0" {
		t.Fatalf("Count: %q, %v", got, err)
	}

	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replica's process to stop", func() bool { return stoppedProcess(proc.Pid) })
	const calls = 5
	ended := make(chan error, calls)
	for range calls {
		go func() {
			short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			_, err := call(short, "Relay", "expired")
			ended <- err
		}()
	}
	for range calls {
		if err := <-ended; !errors.Is(err, context.DeadlineExceeded) && !errors.As(err, new(*native.DeadlineError)) {
			t.Errorf("a call to the stopped replica ended with %v, want its deadline", err)
		}
	}
	time.Sleep(100 * time.Millisecond) // past every deadline by as much
	if err := proc.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}

	if got, err := call(ctx, "Relay", "live"); err != nil || got != "live" {
		t.Fatalf("the live call: %q, %v\n%s", got, err, out.String())
	}
	if got, err := call(ctx, "Count", ""); err != nil || got != "relayed 1" {
		t.Errorf("the service says %q (%v), want \"relayed 1\": it ran calls whose deadline had passed", got, err)
	}
	want := fmt.Sprintf(`parigot_calls_dropped_total{guest="back",reason="deadline"} %d`, calls)
	if got := scrape(t, metrics, "parigot_calls_dropped_total"); !strings.Contains(got, want) {
		t.Errorf("/metrics says\n%s\nwant %s", got, want)
	}
}
