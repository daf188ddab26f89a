package host

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"
)

// supervise runs a guest until it is done for good: it restarts a service
// that crashed or overran when its policy says so, and then reports on done.
func (a *app) supervise(ctx context.Context, in *instance, done chan<- ended) {
	var failures []string
	for restarts := 0; ; restarts++ {
		stderr, err := a.runOnce(ctx, in)
		code, crashed, text := describeEnd(in.spec, err, stderr.panicked.Load())
		if ov := in.overran.Swap(nil); ov != nil {
			code, crashed, text = 1, true, "was stopped: "+ov.String()
		} else if stderr.oom.Load() {
			code, crashed, text = 1, true, fmt.Sprintf("ran out of memory (its limit is %d MiB)", in.memoryLimit()>>20)
		}
		reason := fmt.Sprintf("%s %s %s", in.spec.Kind, in.spec.Name, text)
		var exit *sys.ExitError
		if crashed && err != nil && !stderr.panicked.Load() && !errors.As(err, &exit) {
			fmt.Fprintf(stderr, "%s\n", err) // a trap: show wazero's wasm stack trace
			stderr.Flush()
		}
		in.close(reason)
		if crashed {
			failures = append(failures, reason)
		}
		if crashed && in.spec.Kind == Service && in.spec.Restart == RestartOnFailure && restarts < MaxRestarts && ctx.Err() == nil {
			a.say(in, "parigot: %s; restarting it (%d of %d)", reason, restarts+1, MaxRestarts)
			in.reset()
			continue
		}
		done <- ended{in: in, code: code, crashed: crashed, text: text, failures: failures}
		return
	}
}

// runOnce instantiates the guest's module, which runs its main to the end.
func (a *app) runOnce(ctx context.Context, in *instance) (stderr *guestOutput, err error) {
	prefix := fmt.Sprintf("%-*s | ", a.width, in.spec.Name)
	if a.cfg.Plain {
		prefix = ""
	}
	stdout := newGuestOutput(a.console, prefix)
	stderr = newGuestOutput(a.errConsole, prefix)
	mc := wazero.NewModuleConfig().
		WithName(in.spec.Name).
		WithArgs(in.spec.Name).
		WithStdout(stdout).
		WithStderr(stderr).
		WithSysNanotime().WithSysWalltime().WithSysNanosleep().
		WithRandSource(rand.Reader)
	for _, kv := range in.spec.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			mc = mc.WithEnv(k, v)
		}
	}
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	in.setKill(cancel)
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("host failure while running guest: %v", r)
			}
		}()
		mod, ierr := in.rt.InstantiateModule(withInstance(actx, in), in.compiled, mc)
		err = ierr
		if mod != nil {
			mod.Close(context.Background())
		}
	}()
	in.setKill(nil)
	in.busySince.Store(0)
	stdout.Flush()
	stderr.Flush()
	if stdout.panicked.Load() {
		stderr.panicked.Store(true)
	}
	if stdout.oom.Load() {
		stderr.oom.Store(true)
	}
	return stderr, err
}

// say writes one line of the host's own to the error console.
func (a *app) say(in *instance, format string, args ...any) {
	a.errConsole.WriteLine(fmt.Appendf(nil, format+"\n", args...))
}
