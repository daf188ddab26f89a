package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/sys"

	"parigot.dev/parigot/runtime/internal/abi"
	"parigot.dev/parigot/runtime/internal/lines"
	"parigot.dev/parigot/runtime/internal/native"
)

// A method that answered its call has ended, for the watchdog, though its
// guest has not polled again yet (its goroutine waits for a processor on
// a loaded machine, or runs what follows the answer): what it runs until
// its poll is code of no call, measured from the watchdog's first look
// after the answer, not from the poll that handed it the call. So it is
// not stopped a second after that poll, with calls waiting behind it;
// but code that never returns after the answer is still stopped, while
// calls wait, once it has run past budget and grace from that look, and
// the line says it was outside any method.
func TestAMethodThatAnsweredIsMeasuredFromItsAnswer(t *testing.T) {
	var out bytes.Buffer
	a := &run{log: slog.New(slog.NewTextHandler(io.Discard, nil)), byService: map[string]*instance{}, errConsole: lines.NewSink(&out)}
	svc := newInstance(a, &GuestSpec{Name: "echo", Kind: Service, Implements: []string{"test.Echo"}, MethodTimeout: 50 * time.Millisecond})
	var killed atomic.Bool
	svc.setKill(func() { killed.Store(true) })
	caller := &farEnd{}
	call := func(id uint64) abi.Event {
		return abi.Event{Kind: abi.KindCall, CallID: id, Method: "test.Echo/Echo", Deadline: time.Now().Add(time.Minute).UnixNano()}
	}
	svc.Deliver(call(1), caller)
	if st := hostPoll(context.Background(), svc, testMemory(t), []uint64{0, 0, 1024, 2048}); st != abi.StatusOK {
		t.Fatalf("poll: status %v, want ok", st)
	}
	took := time.Unix(0, svc.busySince.Load())
	if !svc.reply(svc.onBehalf, abi.CodeOK, nil) {
		t.Fatal("the reply was refused")
	}
	svc.Deliver(call(2), caller) // waits for the guest's next poll
	limit := svc.spec.MethodTimeout + Grace(svc.spec.MethodTimeout)
	first := took.Add(time.Second) // far past budget and grace from the call
	for _, at := range []time.Time{first, first.Add(limit)} {
		a.look(svc, at, &lateLooks{})
		if out.String() != "" || killed.Load() {
			t.Fatalf("%s after its call came, %s after the first look since its answer, a method that answered was acted on (killed: %v):\n%s",
				at.Sub(took), at.Sub(first), killed.Load(), out.String())
		}
	}
	a.look(svc, first.Add(limit+50*time.Millisecond), &lateLooks{})
	want := "parigot: service echo: it ran for 150ms without coming back for its calls, outside any method (a timer, a reply's callback, background work, or code after a method answered) while calls waited, over its method budget of 50ms; stopping it" + overrunHint + "\n"
	if out.String() != want || !killed.Load() {
		t.Errorf("code that ran on past budget and grace after the answer, with a call waiting: killed %v, the host said\n%q\nwant\n%q", killed.Load(), out.String(), want)
	}
}

// The stop of a guest for an overrun is followed, in its stderr, by
// where it was: the wasm stack trace when it was stopped in its own code,
// or, when there is none, a line that says why, so that every overrun
// report has the same form.
func TestAnOverrunsStopSaysWhereTheGuestWasOrWhyItCannot(t *testing.T) {
	mem := testMemory(t)
	a := &run{log: slog.New(slog.NewTextHandler(io.Discard, nil)), byService: map[string]*instance{}}
	svc := newInstance(a, &GuestSpec{Name: "pricing", Kind: Service, Implements: []string{"test.Pricing"}, MethodTimeout: 50 * time.Millisecond})
	stopped, stop := context.WithCancel(context.Background())
	stop() // the watchdog's stop, seen by the guest's next poll
	if st := hostPoll(stopped, svc, mem, []uint64{uint64(time.Second), 0, 1024, 2048}); st != abi.StatusShutdown {
		t.Fatalf("poll after the stop: status %v, want shutdown", st)
	}
	trace := "module[pricing] function[_start] failed: stopped by parigot: over its method budget\nwasm stack trace:\n\t.main.quote(i32) i32"
	for _, c := range []struct {
		name   string
		err    error
		inPoll bool
		want   string
	}{
		{"stopped in its code, the trace", fmt.Errorf("%s: %w", trace, errStoppedOverBudget), false, trace + ": stopped by parigot: over its method budget"},
		{"stopped in its poll, why there is no trace", nil, svc.stoppedInPoll.Load(),
			"no wasm stack trace: by the time it was stopped, the guest had come back to the host's poll, so where its code ran is not known"},
		{"stopped elsewhere, why there is no trace", sys.NewExitError(sys.ExitCodeContextCanceled), false,
			"no wasm stack trace: the guest was stopped outside its own code (in a host function, or in a module without parigot's interruption checks, which wazero closes without one)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := overrunTrace(c.err, c.inPoll); got != c.want {
				t.Errorf("after the stop, stderr says\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}

// An overrun during which the host's own watchdog was kept from running
// (a machine short of processors) is followed by a line that says so:
// the guest's "ran for" is wall time, part of which it may have spent
// waiting to run. An overrun on a machine that kept up has no such line.
func TestAnOverrunOnAStarvedMachineSaysTheHostWaitedForAProcessor(t *testing.T) {
	for _, c := range []struct {
		name    string
		lateBy  time.Duration // how late the watchdog's look during the method was
		starved string        // the line that must follow, or none
	}{
		{"a watchdog that kept up", 0, ""},
		{"a watchdog kept waiting 38ms", 38 * time.Millisecond,
			"parigot: service pricing: meanwhile the host's own watchdog waited up to 38ms for a processor: the machine is short of them, and part of the time the guest ran may have been spent waiting to run\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, svc, out := pricingInQuote(t)
			took := svc.busySince.Load()
			var late lateLooks
			late.note(took-int64(time.Second), time.Second) // before the method: not its doing
			late.note(took+int64(40*time.Millisecond), c.lateBy)
			a.checkOverrun(svc, time.Unix(0, took+int64(150*time.Millisecond)), &late)
			want := "parigot: service pricing: method test.Pricing/Quote ran for 150ms, over its budget of 50ms (on_overrun = \"report\": left running)\n" + c.starved
			if out.String() != want {
				t.Errorf("the host said\n%s\nwant\n%s", out.String(), want)
			}
		})
	}
}

// pricingInQuote is a run with one service, pricing (budget 50ms,
// on_overrun = "report"), whose guest has just taken a call of
// test.Pricing/Quote at its poll; out is what the run says.
func pricingInQuote(t *testing.T) (*run, *instance, *bytes.Buffer) {
	t.Helper()
	out := new(bytes.Buffer)
	a := &run{log: slog.New(slog.NewTextHandler(io.Discard, nil)), byService: map[string]*instance{}, errConsole: lines.NewSink(out)}
	svc := newInstance(a, &GuestSpec{Name: "pricing", Kind: Service, Implements: []string{"test.Pricing"}, MethodTimeout: 50 * time.Millisecond, Overrun: OverrunReport})
	svc.Deliver(abi.Event{Kind: abi.KindCall, CallID: 1, Method: "test.Pricing/Quote", Deadline: time.Now().Add(time.Minute).UnixNano()}, &farEnd{})
	if st := hostPoll(context.Background(), svc, testMemory(t), []uint64{0, 0, 1024, 2048}); st != abi.StatusOK {
		t.Fatalf("poll: status %v, want ok", st)
	}
	return a, svc, out
}

// The time the watchdog itself waited for a processor while a method ran
// is not counted against the method: on a starved machine the guest may
// have waited as long. A method whose 150ms are 60ms of the machine's
// waits and 90ms of its own is within its limit (budget 50ms, grace
// 50ms), and nothing is said; looked at again at 200ms, it has run 140ms
// of its own, and is acted on.
func TestTheWatchdogsOwnWaitsAreNotCountedAgainstAMethod(t *testing.T) {
	a, svc, out := pricingInQuote(t)
	took := svc.busySince.Load()
	var late lateLooks
	late.note(took+int64(40*time.Millisecond), 35*time.Millisecond)
	late.note(took+int64(120*time.Millisecond), 25*time.Millisecond)
	a.checkOverrun(svc, time.Unix(0, took+int64(150*time.Millisecond)), &late)
	if out.String() != "" {
		t.Errorf("a method within its limit but for the machine's waits was acted on:\n%s", out.String())
	}
	a.checkOverrun(svc, time.Unix(0, took+int64(200*time.Millisecond)), &late)
	want := "parigot: service pricing: method test.Pricing/Quote ran for 200ms, over its budget of 50ms (on_overrun = \"report\": left running)\n" +
		"parigot: service pricing: meanwhile the host's own watchdog waited up to 35ms for a processor: the machine is short of them, and part of the time the guest ran may have been spent waiting to run\n"
	if out.String() != want {
		t.Errorf("the host said\n%s\nwant\n%s", out.String(), want)
	}
}

// The watchdog's stop of a guest over its budget lands only while the
// guest is still busy with the work it overran in. One that comes back
// to its poll between the watchdog's look and the stop (its method
// answered, late: a starved machine) is not stopped: its answer reaches
// its caller, it takes its next call, and the host says it was left
// running rather than "stopping it". One that comes back once the stop
// is decided is stopped at its poll.
func TestAGuestBackAtItsPollBeforeTheStopIsNotStopped(t *testing.T) {
	for _, c := range []struct {
		name      string
		backFirst bool // the guest comes back between the look and the stop
		said      string
		poll      abi.Status // what its poll says then
	}{
		{"back before the stop: left running", true,
			"parigot: service pricing: method test.Pricing/Quote ran for 1s, over its budget of 50ms; it came back to the host before it could be stopped: left running\n",
			abi.StatusOK},
		{"back after the stop was decided: stopped", false,
			"parigot: service pricing: method test.Pricing/Quote ran for 1s, over its budget of 50ms; stopping it" + overrunHint + "\n",
			abi.StatusShutdown},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			mem := testMemory(t)
			a := &run{log: slog.New(slog.NewTextHandler(io.Discard, nil)), byService: map[string]*instance{}, errConsole: lines.NewSink(&out)}
			svc := newInstance(a, &GuestSpec{Name: "pricing", Kind: Service, Implements: []string{"test.Pricing"}, MethodTimeout: 50 * time.Millisecond})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var killed atomic.Bool
			svc.setKill(func() { killed.Store(true); cancel() })
			caller := &farEnd{}
			call := func(id uint64) abi.Event {
				return abi.Event{Kind: abi.KindCall, CallID: id, Method: "test.Pricing/Quote", Deadline: time.Now().Add(time.Minute).UnixNano()}
			}
			svc.Deliver(call(1), caller)
			if st := hostPoll(ctx, svc, mem, []uint64{0, 0, 1024, 2048}); st != abi.StatusOK {
				t.Fatalf("poll: status %v, want ok", st)
			}
			polled := make(chan abi.Status, 1)
			comeBack := func() { // its method answers, and the guest polls for its next call
				if !svc.reply(svc.onBehalf, abi.CodeOK, []byte("quote")) {
					t.Error("the reply was refused")
				}
				go func() { polled <- hostPoll(ctx, svc, mem, []uint64{uint64(time.Minute), 0, 1024, 2048}) }()
			}
			if c.backFirst {
				a.afterLook = func(in *instance) {
					comeBack()
					for deadline := time.Now().Add(time.Minute); in.busySince.Load() != 0; {
						if time.Now().After(deadline) {
							t.Fatal("the guest's poll never began")
						}
						time.Sleep(time.Millisecond)
					}
				}
			}
			took := svc.busySince.Load()
			a.checkOverrun(svc, time.Unix(0, took).Add(time.Second), &lateLooks{})
			if !c.backFirst {
				comeBack()
			}
			svc.Deliver(call(2), caller)
			select {
			case st := <-polled:
				if st != c.poll {
					t.Errorf("its poll said %v, want %v", st, c.poll)
				}
			case <-time.After(time.Minute):
				t.Fatal("its poll never returned")
			}
			if out.String() != c.said {
				t.Errorf("the host said\n%q\nwant\n%q", out.String(), c.said)
			}
			if stopped := svc.overran.Load() != nil; killed.Load() != stopped || stopped == c.backFirst {
				t.Errorf("killed %v, overrun recorded %v; want both %v", killed.Load(), stopped, !c.backFirst)
			}
			if len(caller.got) != 1 || caller.got[0].Code != abi.CodeOK || string(caller.got[0].Payload) != "quote" {
				t.Errorf("the caller got %v, want the method's answer", caller.got)
			}
		})
	}
}

// A guest whose run ends by itself (here, it exits) after the watchdog
// decided to stop it and before the stop landed ended as it did, not by
// the stop: the line after "stopping it" says so, and its failure is its
// exit, with no "stopped outside its own code" for a stop that never
// reached it.
func TestARunThatEndsBeforeItsStopLandsEndsAsItDid(t *testing.T) {
	reg := native.NewRegistry()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	faulty := &GuestSpec{Name: "faulty", Kind: Service, Wasm: wasm(t, "faulty"), Implements: []string{"test.Faulty"},
		MethodTimeout: 20 * time.Millisecond, Restart: RestartNever}
	var out lines.Buffer
	cfg := Config{Guests: []*GuestSpec{faulty}, Stdout: &out, Stderr: &out, Remote: reg}
	cfg.afterStopDecided = func(in *instance) {
		// The stop is decided: its run ends by itself (the method exits
		// once its second of spinning is up) before the stop lands.
		for deadline := time.Now().Add(patience); in.busySince.Load() != 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("the guest's run never ended by itself:\n%s", out.String())
				return
			}
		}
	}
	type result struct {
		res Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := Run(ctx, cfg)
		done <- result{res, err}
	}()
	if err := reg.WaitReady(ctx, []string{"faulty"}, nil); err != nil {
		t.Fatal(err)
	}
	native.NewCaller("test").Call(ctx, reg.Service("test.Faulty"), "test.Faulty/SpinThenExit", nil)
	const down = "; it is down for the rest of the run"
	for deadline := time.Now().Add(patience); !strings.Contains(out.String(), down); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the service never went down:\n%s", out.String())
		}
	}
	cancel()
	r := <-done
	if r.err != nil && !errors.Is(r.err, context.Canceled) {
		t.Errorf("Run: %v", r.err)
	}
	if len(r.res.Failures) != 1 || r.res.Failures[0].Cause != CauseExited || r.res.Failures[0].ExitCode != 3 {
		t.Errorf("failures %+v, want its exit with code 3", r.res.Failures)
	}
	said := out.String()
	const ended = "parigot: service faulty: its run ended on its own before the stop reached it: it exited with code 3\n" +
		"parigot: service faulty exited with code 3" + down
	stopping := strings.Index(said, "parigot: service faulty: method test.Faulty/SpinThenExit ran for ")
	if stopping < 0 || !strings.Contains(said[stopping:], "; stopping it") || !strings.Contains(said[stopping:], ended) {
		t.Errorf("the stop's line is not followed by\n%s\nthe host said\n%s", ended, said)
	}
	for _, wrong := range []string{"stopped outside its own code", "was stopped: method"} {
		if strings.Contains(said, wrong) {
			t.Errorf("the host says %q of a run that ended by itself:\n%s", wrong, said)
		}
	}
}

// Of a run whose stop was decided, only an end the stop makes is the
// stop's: at an interruption check, in its poll, or closed by wazero. Its
// main's return, its exit and its trap are its own, and how it ended.
func TestARunsEndTellsTheStopFromItsOwn(t *testing.T) {
	for _, c := range []struct {
		name   string
		err    error
		inPoll bool
		stop   bool
	}{
		{"stopped at an interruption check", fmt.Errorf("module[pricing] function[_start] failed: %w", errStoppedOverBudget), false, true},
		{"stopped in its poll", nil, true, true},
		{"closed by wazero", sys.NewExitError(sys.ExitCodeContextCanceled), false, true},
		{"its main returned", nil, false, false},
		{"it exited", sys.NewExitError(3), false, false},
		{"it trapped", errors.New("module[pricing] function[_start] failed: wasm error: out of bounds memory access"), false, false},
	} {
		if got := endedByStop(c.err, c.inPoll); got != c.stop {
			t.Errorf("%s: ended by the stop %v, want %v", c.name, got, c.stop)
		}
	}
}
