package split

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/host"
)

// A program still waiting for a service it requires when that service goes
// down for good does not wait for it any longer, as apptest's programs and
// single mode's do not: the supervisor tells it over its link, it says so,
// starts, and its calls to the service fail with unavailable; the run ends
// as its programs do, not at the ready timeout (minutes in these tests)
// with a service that "did not become ready". The program late is held
// (stopped, as a process kept off a busy machine's CPU is) from its start
// until the service has gone down, so that it is still waiting then
// whatever the machine's speed.
func TestAProgramWaitingForAServiceThatGoesDownForGoodStartsWithoutIt(t *testing.T) {
	guests := faultGuests(t, "Panic", time.Minute) // faulty is never restarted
	late := &host.GuestSpec{Name: "late", Kind: host.Program, Wasm: filepath.Join(filepath.Dir(guests[1].Wasm), "faultcaller.wasm"),
		Requires: []string{"faulty"}, Env: []string{"FAULT=Hello", "THEN=exit"}, Replicas: 1}
	guests = append(guests, late)
	var mu sync.Mutex
	latePid := 0
	var resume sync.Once
	cont := func() {
		resume.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			syscall.Kill(latePid, syscall.SIGCONT)
		})
	}
	giveUp := time.AfterFunc(patience, cont) // however the run goes, late is not held for ever
	defer giveUp.Stop()
	const down = "parigot: service faulty panicked (its stack trace is above); it is down for the rest of the run, and calls to it fail with unavailable"
	res, out, errOut, err := superviseWatching(t.Context(), t, guests, Options{
		Started: func(label string, pid int) {
			if label == "late" {
				mu.Lock()
				latePid = pid
				mu.Unlock()
				syscall.Kill(pid, syscall.SIGSTOP)
			}
		}}, nil, func(p []byte) {
		if bytes.Contains(p, []byte(down)) {
			cont()
		}
	})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("err %v, exit %d; want the programs to run to their end\nstdout:\n%s\nstderr:\n%s", err, res.ExitCode, out, errOut)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(down) + `$`),
		regexp.MustCompile(`(?m)^parigot: late does not wait for service faulty, which is down for good: it starts without it, and its calls to faulty fail with unavailable$`),
	} {
		if !want.MatchString(errOut) {
			t.Errorf("stderr lacks a line matching %s:\n%s", want, errOut)
		}
	}
	var calls []string
	for _, l := range regexp.MustCompile(`(?m)^late +\| (.*)$`).FindAllStringSubmatch(out, -1) {
		calls = append(calls, l[1])
	}
	const unavailable = "Hello: test.Faulty/Hello: unavailable: service faulty is not running"
	if want := []string{unavailable, unavailable}; strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("late saw\n\t%s\nwant\n\t%s\nstdout:\n%s", strings.Join(calls, "\n\t"), strings.Join(want, "\n\t"), out)
	}
}
