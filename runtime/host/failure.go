package host

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/sys"
)

// Cause says why a guest ended when nobody asked it to.
type Cause uint8

const (
	// CauseExited: it ended on its own. A service is meant to serve until
	// stopped, so any exit is a failure; a program's exit is not (its exit
	// code is the run's).
	CauseExited Cause = iota + 1
	// CausePanicked: the Go runtime in the guest panicked or hit a fatal
	// error; its stack trace is in its stderr.
	CausePanicked
	// CauseTrapped: the wasm trapped (unreachable, an access out of bounds,
	// an integer divided by zero...).
	CauseTrapped
	// CauseOutOfMemory: it needed more memory than its memory_limit.
	CauseOutOfMemory
	// CauseOverran: a method ran past its budget. With on_overrun = "stop"
	// the host stopped the guest; a run that ended while the method was
	// still running reports it too.
	CauseOverran
	// CauseKilled: split mode only: its process was killed by a signal, or
	// ended without saying how its guest ended.
	CauseKilled
	// CauseNotStarted: split mode only: the process started again for it
	// (after its process was killed) could not start it; Detail says why
	// (its NATS server could not be reached, say).
	CauseNotStarted
	// CauseDebuggerQuit: it ran under Delve (parigot run --debug), which
	// was told to quit and killed it.
	CauseDebuggerQuit
	// CauseDeadlocked: the Go runtime in the guest found every goroutine
	// waiting, none able to run again (a method waiting on a channel or a
	// lock: guest code must not block); its stack trace is in its stderr.
	CauseDeadlocked
)

var causeNames = [...]string{
	CauseExited:       "exited",
	CausePanicked:     "panicked",
	CauseTrapped:      "trapped",
	CauseOutOfMemory:  "out of memory",
	CauseOverran:      "overran",
	CauseKilled:       "killed",
	CauseNotStarted:   "not started",
	CauseDebuggerQuit: "debugger quit",
	CauseDeadlocked:   "deadlocked",
}

func (c Cause) String() string {
	if int(c) < len(causeNames) && causeNames[c] != "" {
		return causeNames[c]
	}
	return fmt.Sprintf("cause %d", uint8(c))
}

// Failure is a guest that ended in a way its app did not ask for. Both
// modes produce the same Failure from the same cause, so that a crash reads
// the same in one process and split across many; split mode carries it from
// the child to its supervisor as JSON.
type Failure struct {
	Guest string `json:"guest"`
	// Replica is which replica of a service failed (from 1) when split
	// mode runs several; 0 otherwise.
	Replica int   `json:"replica,omitempty"`
	Kind    Kind  `json:"kind"`
	Cause   Cause `json:"cause"`
	// ExitCode is the guest's own exit code, for CauseExited.
	ExitCode int `json:"exit_code,omitempty"`
	// Detail says more where the cause has more to say: where it trapped,
	// which method overran and for how long, its memory limit, the signal
	// that killed it.
	Detail string `json:"detail,omitempty"`
	// Said is set on a failure the host said when it happened: a service
	// restarted after it (RestartLine), or down for good while the app
	// ran on (DownLine). The run's summary need not say it again.
	Said bool `json:"said,omitempty"`
}

// DownLine is what the host prints when service f names goes down for
// good while the app runs on: its restarts, if any, are spent.
func DownLine(f Failure) string {
	if f.Replica != 0 { // one of several: the others take its calls
		return fmt.Sprintf("parigot: %s; it is down for the rest of the run, and its service's calls go to its other replicas while any serves", f)
	}
	return fmt.Sprintf("parigot: %s; it is down for the rest of the run, and calls to it fail with unavailable", f)
}

// DevDownLine is DownLine during parigot dev, where the run does not end
// with the service down: the next save starts it again (see
// run.reviveDown).
func DevDownLine(f Failure) string {
	return fmt.Sprintf("parigot: %s; it is down until your next save starts it again, and calls to it fail with unavailable", f)
}

// Label is the guest's name, with "#N" for a replica of several.
func (f Failure) Label() string { return ReplicaLabel(f.Guest, f.Replica) }

// ReplicaLabel names replica r (from 1) of guest, or the guest itself when
// r is 0: what output lines are prefixed with and failures are named by.
func ReplicaLabel(guest string, r int) string {
	if r == 0 {
		return guest
	}
	return fmt.Sprintf("%s#%d", guest, r)
}

// ReplicaNumbers numbers the processes split mode runs for s: 1 to
// Replicas when it has several, or the one number 0 when it has one.
func (s *GuestSpec) ReplicaNumbers() []int {
	if s.Replicas <= 1 {
		return []int{0}
	}
	n := make([]int, s.Replicas)
	for i := range n {
		n[i] = i + 1
	}
	return n
}

// FindGuest returns the guest named name among guests, or nil.
func FindGuest(guests []*GuestSpec, name string) *GuestSpec {
	for _, g := range guests {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// String is the line the CLI prints for f, after "parigot: ".
func (f Failure) String() string {
	return fmt.Sprintf("%s %s %s", f.Kind, f.Label(), f.Phrase())
}

// Reason is what the callers of f's service are told when their calls fail
// with it (unavailable): String, but for what only the terminal shows (a
// panic's stack trace is above in the terminal, not in an HTTP reply or a
// dead letter).
func (f Failure) Reason() string {
	switch f.Cause {
	case CausePanicked:
		return fmt.Sprintf("%s %s panicked", f.Kind, f.Label())
	case CauseDeadlocked:
		return fmt.Sprintf("%s %s deadlocked", f.Kind, f.Label())
	}
	return f.String()
}

// Phrase says how the guest ended, without naming it.
func (f Failure) Phrase() string {
	switch f.Cause {
	case CauseExited:
		return fmt.Sprintf("exited with code %d", f.ExitCode)
	case CausePanicked:
		return "panicked (its stack trace is above)"
	case CauseDeadlocked:
		return "deadlocked: its code waited on a channel or a lock that nothing could release (its stack trace is above); a guest has one thread, so its code must not block: see \"One thread, no blocking\" in docs/GUEST_API.md"
	case CauseTrapped:
		return "trapped " + f.Detail
	case CauseOutOfMemory:
		return "ran out of memory (" + f.Detail + ")"
	case CauseOverran:
		return "was stopped: " + f.Detail
	case CauseKilled:
		return "was killed (" + f.Detail + ")"
	case CauseNotStarted:
		return "could not start again: " + f.Detail
	case CauseDebuggerQuit:
		return "ended: " + errDebuggerQuit.Error()
	}
	return f.Cause.String()
}

// StartProblem says what kept a guest from starting.
type StartProblem uint8

const (
	// NotLoaded: its wasm could not be read or compiled.
	NotLoaded StartProblem = iota + 1
	// EndedBeforeReady: the service ended before it became ready.
	EndedBeforeReady
	// NotReadyInTime: the service did not become ready within the ready
	// timeout.
	NotReadyInTime
	// NotServed: the calls of other processes could not be routed to it.
	NotServed
)

// StartError is a guest that could not start: Run returns it, and nothing
// of the app keeps running.
type StartError struct {
	Guest string `json:"guest"`
	// Replica is which replica of the service could not start (from 1)
	// when split mode runs several; 0 otherwise.
	Replica int          `json:"replica,omitempty"`
	Kind    Kind         `json:"kind"`
	Problem StartProblem `json:"problem"`
	// Failure is how the service ended, for EndedBeforeReady.
	Failure *Failure `json:"failure,omitempty"`
	// Implements is the proto services it implements, for
	// EndedBeforeReady and NotReadyInTime: its error names the generated
	// function that serves them.
	Implements []string `json:"implements,omitempty"`
	// Timeout is the ready timeout it missed, for NotReadyInTime.
	Timeout time.Duration `json:"timeout,omitempty"`
	// InReady, for NotReadyInTime: the service had exported its services,
	// so its main had called its serving function (RunXxx, guest.Run),
	// which had not said it was ready: its Ready method had not returned.
	InReady bool `json:"in_ready,omitempty"`
	// Reason is the underlying error's text, for NotLoaded and NotServed;
	// it crosses processes where Err cannot.
	Reason string `json:"reason,omitempty"`
	Err    error  `json:"-"`
}

func (e *StartError) Error() string {
	if e.Problem == EndedBeforeReady || e.Problem == NotReadyInTime {
		return fmt.Sprintf("service %s %s", e.Label(), e.Phrase())
	}
	return fmt.Sprintf("%s %s: %s", e.Kind, e.Label(), e.Reason)
}

// Phrase says what kept the guest from starting, without naming it.
func (e *StartError) Phrase() string {
	switch e.Problem {
	case EndedBeforeReady:
		how := "ended"
		if e.Failure != nil {
			how = e.Failure.Phrase()
			if e.Failure.Cause == CauseExited && e.Failure.ExitCode == 0 {
				// Its main returned: it never served.
				how += " (a service's main ends in " + servingCall(e.Implements) + ", which serves its calls)"
			}
		}
		return "ended before it was ready: " + how
	case NotReadyInTime:
		if e.InReady {
			return fmt.Sprintf("did not become ready within %s: its Ready method has not returned", e.Timeout)
		}
		return fmt.Sprintf("did not become ready within %s: its main has not called %s", e.Timeout, servingCall(e.Implements))
	}
	return e.Reason
}

func (e *StartError) Unwrap() error { return e.Err }

// Label is the guest's name, with "#N" for a replica of several.
func (e *StartError) Label() string { return ReplicaLabel(e.Guest, e.Replica) }

// servingCall names what a service implementing the proto services
// implements calls last in its main: the generated RunXxx of its first
// service (greeting.v1.Greeting: RunGreeting), or guest.Run. A service
// name that is not already a Go name in CamelCase (stock_keeper) is
// changed by the generator in ways not worth repeating here: the hint
// then describes the function instead of naming it.
func servingCall(implements []string) string {
	if len(implements) == 0 {
		return "guest.Run"
	}
	full := implements[0]
	name := full[strings.LastIndexByte(full, '.')+1:]
	if !isCamelCase(name) {
		return "the Run function generated for " + full + ", or guest.Run"
	}
	return "Run" + name + " (generated) or guest.Run"
}

// isCamelCase says whether s is an exported Go name of ASCII letters and
// digits, which the generator keeps as it is.
func isCamelCase(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// startError wraps err, which kept spec from starting.
func startError(spec *GuestSpec, p StartProblem, err error) *StartError {
	return &StartError{Guest: spec.Name, Kind: spec.Kind, Problem: p, Reason: err.Error(), Err: err}
}

// signs are what the host saw of a guest while it ran, besides the error
// its run returned: they tell a panic from a plain exit with code 2, and a
// stop by the host from the guest's own exit.
type signs struct {
	panicked   bool     // its output had the Go runtime's "panic:" or "fatal error:"
	oom        bool     // its output said it ran out of memory
	deadlocked bool     // its output had the Go runtime's "fatal error:" for a deadlock
	overran    *overrun // the watchdog stopped it for this overrun
	stopping   bool     // the host had asked it to stop (a stop, a reload, the run's end, Ctrl-C)
}

// ending is how one run of a guest ended.
type ending struct {
	code    int      // the exit code it gives the run: its own, 1 for a failure
	failure *Failure // nil when it ended as asked: a program's exit, a stop
	// panicMessage is the value of the panic, for a failure that is one
	// (CausePanicked), when the guest printed it: what a dead letter's
	// reason adds (instance.PanicMessage), and no caller's error.
	panicMessage string
}

// goRuntimeExit is the exit code of a Go program whose runtime gave up: a
// panic nobody recovered, or a fatal error such as running out of memory.
const goRuntimeExit = 2

// classify turns how a guest's run ended into an ending: the one place that
// decides what counts as a failure and how it reads. err is what
// InstantiateModule returned.
//
// What the guest printed only explains an end that Go's runtime gives a
// guest it gave up on: exit code 2 (panic, fatal error) or a trap (its
// abort, under GOTRACEBACK=crash). A guest that printed "panic: ..." and
// then exited 0, or kept serving, did neither. And only the host's own
// state says that the host stopped a guest: wazero's exit code for a
// cancelled context is also what the guest's own ExitSelf(-1) gives.
func classify(spec *GuestSpec, err error, s signs) ending {
	fail := func(c Cause, detail string) ending {
		return ending{code: 1, failure: &Failure{Guest: spec.Name, Kind: spec.Kind, Cause: c, Detail: detail}}
	}
	gaveUp := func() (ending, bool) {
		switch {
		case s.oom:
			return fail(CauseOutOfMemory, fmt.Sprintf("its limit is %d MiB", memoryLimit(spec)>>20)), true
		case s.deadlocked:
			return fail(CauseDeadlocked, ""), true
		case s.panicked:
			return fail(CausePanicked, ""), true
		}
		return ending{}, false
	}
	if s.overran != nil {
		return fail(CauseOverran, s.overran.String())
	}
	var exit *sys.ExitError
	switch {
	case errors.As(err, &exit):
		if s.stopping && (exit.ExitCode() == sys.ExitCodeContextCanceled || exit.ExitCode() == sys.ExitCodeDeadlineExceeded) {
			return ending{} // stopped by the host: it is interruptible
		}
		code := guestExitCode(exit)
		if code == goRuntimeExit {
			if e, ok := gaveUp(); ok {
				return e
			}
		}
		return exited(spec, code, s.stopping)
	case err == nil || errors.Is(err, context.Canceled):
		return exited(spec, 0, s.stopping)
	case errors.Is(err, errDebuggerQuit):
		if s.stopping {
			return ending{}
		}
		return fail(CauseDebuggerQuit, "")
	}
	if e, ok := gaveUp(); ok {
		return e
	}
	return fail(CauseTrapped, trapDetail(err))
}

// guestExitCode is the code the guest passed to its exit. WASI's proc_exit
// takes 32 bits, and Go's os.Exit hands it its int as an int32: read back as
// one, ExitSelf(-1) is -1, not 4294967295.
func guestExitCode(exit *sys.ExitError) int {
	return int(int32(exit.ExitCode()))
}

// exited is the ending of a guest that exited with code: a program's exit
// code is the run's; a service that exits while it should be serving fails.
func exited(spec *GuestSpec, code int, stopping bool) ending {
	if spec.Kind == Program || stopping {
		return ending{code: code}
	}
	return ending{code: max(code, 1), failure: &Failure{Guest: spec.Name, Kind: spec.Kind, Cause: CauseExited, ExitCode: code}}
}

// trapDetail says where a guest trapped and how. wazero wraps the trap
// (with its wasm stack trace after the first line) in an error naming the
// module and the start function it ran; every guest is a WASI command, so
// that function is _start.
func trapDetail(err error) string {
	inner := err
	if u := errors.Unwrap(err); u != nil {
		inner = u
	}
	what := inner.Error()
	if i := strings.IndexByte(what, '\n'); i >= 0 {
		what = what[:i]
	}
	return "in function " + startFunction + ": " + what
}

// startFunction is the function wazero runs to start a WASI command.
const startFunction = "_start"
