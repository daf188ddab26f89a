package split

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/internal/lines"
)

// Options configures a split-mode run.
type Options struct {
	App    string            // the app's name
	Guests []*host.GuestSpec // every guest of the app, in start order
	Only   []string          // host only these guests here; empty: all
	// Conn is the NATS to join. An empty URL starts an embedded server on
	// loopback with a random token.
	Conn Conn
	// Executable is the parigot binary the children run. Empty: this one.
	Executable string
	// ChildArgs gives the command line of the child hosting a guest, after
	// the program name (for example "guest", appDir, "--name", name).
	ChildArgs func(guest string) []string
	Stdout    io.Writer
	Stderr    io.Writer
	// StopTimeout bounds how long children get to stop before being killed.
	// Zero: 5 seconds.
	StopTimeout time.Duration
	// Started, when set, is called with each child's label and process id.
	Started func(label string, pid int)
}

// Environment variables a child reads its NATS credentials from.
const (
	EnvURL   = "PARIGOT_NATS_URL"
	EnvToken = "PARIGOT_NATS_TOKEN"
	EnvUser  = "PARIGOT_NATS_USER"
	EnvPass  = "PARIGOT_NATS_PASSWORD"
	EnvCreds = "PARIGOT_NATS_CREDS"
)

type child struct {
	label    string
	restarts int
	spec     *host.GuestSpec
	cmd      *exec.Cmd
	out      *lines.Writer
	err      *lines.Writer
}

type exit struct {
	c   *child
	err error
}

// Supervise runs the app split into one process per guest and returns how
// the programs ended. Result.Failures names children that died on their own.
func Supervise(ctx context.Context, opts Options) (host.Result, error) {
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 5 * time.Second
	}
	if opts.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return host.Result{}, fmt.Errorf("finding the parigot binary for the child processes: %w", err)
		}
		opts.Executable = exe
	}
	conn := opts.Conn
	if conn.URL == "" {
		srv, err := StartServer()
		if err != nil {
			return host.Result{}, err
		}
		defer srv.Shutdown()
		conn = Conn{URL: srv.URL(), Token: srv.Token}
	}

	// Hear which services become ready: one that dies before it ever was
	// can never serve the programs waiting for it, so the run ends at once
	// instead of when their wait for it times out.
	var readyMu sync.Mutex
	everReady := map[string]bool{}
	if nc, err := conn.connect("parigot supervisor " + opts.App); err == nil {
		defer nc.Close()
		nc.Subscribe(announceSubject(opts.App, "*"), func(m *nats.Msg) {
			readyMu.Lock()
			everReady[m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]] = true
			readyMu.Unlock()
		})
		nc.Flush()
	}
	wasReady := func(name string) bool {
		readyMu.Lock()
		defer readyMu.Unlock()
		return everReady[name]
	}

	only := map[string]bool{}
	for _, n := range opts.Only {
		only[n] = true
	}
	var children []*child
	width := 0
	for _, g := range opts.Guests {
		if len(only) > 0 && !only[g.Name] {
			continue
		}
		n := max(g.Replicas, 1)
		for r := 1; r <= n; r++ {
			label := g.Name
			if n > 1 {
				label = fmt.Sprintf("%s#%d", g.Name, r)
			}
			width = max(width, len(label))
			children = append(children, &child{label: label, spec: g})
		}
	}
	if len(children) == 0 {
		return host.Result{}, fmt.Errorf("no guest to run here: --only names none of the app's guests")
	}

	stdout, stderr := lines.NewSink(opts.Stdout), lines.NewSink(opts.Stderr)
	exits := make(chan exit, len(children)*(host.MaxRestarts+1))
	running := map[*child]bool{}
	programs := 0
	start := func(c *child) error {
		c.cmd = &exec.Cmd{
			Path:   opts.Executable,
			Args:   append([]string{"parigot"}, opts.ChildArgs(c.spec.Name)...),
			Stdout: c.out,
			Stderr: c.err,
			Env:    childEnv(conn),
		}
		if err := c.cmd.Start(); err != nil {
			return fmt.Errorf("starting the process for %s: %w", c.label, err)
		}
		if opts.Started != nil {
			opts.Started(c.label, c.cmd.Process.Pid)
		}
		running[c] = true
		cmd := c.cmd
		go func() {
			err := cmd.Wait() // returns once the child's output is copied
			c.out.Flush()
			c.err.Flush()
			exits <- exit{c: c, err: err}
		}()
		return nil
	}
	for _, c := range children {
		prefix := fmt.Sprintf("%-*s | ", width, c.label)
		c.out = stdout.Writer(prefix)
		c.err = stderr.Writer(prefix)
		if err := start(c); err != nil {
			stopChildren(running, exits, opts.StopTimeout)
			return host.Result{}, err
		}
		if c.spec.Kind == host.Program {
			programs++
		}
	}

	// With programs here, the run ends when they have; with only services
	// here, it ends when interrupted or when one of them dies.
	servicesOnly := programs == 0
	var res host.Result
	for len(running) > 0 && (servicesOnly || programs > 0) {
		select {
		case e := <-exits:
			delete(running, e.c)
			code := exitCodeOf(e.err)
			if e.c.spec.Kind == host.Program {
				programs--
				if res.ExitCode == 0 {
					res.ExitCode = code
				}
				continue
			}
			failure := fmt.Sprintf("service %s exited unexpectedly (%s)", e.c.label, describe(e.err))
			if code == ExitOverrun {
				failure = fmt.Sprintf("service %s was stopped: a method overran its budget", e.c.label)
			}
			if !wasReady(e.c.spec.Name) && e.c.spec.Restart != host.RestartOnFailure {
				// Give a ready announcement in flight a moment to land.
				time.Sleep(100 * time.Millisecond)
				if !wasReady(e.c.spec.Name) {
					stopChildren(running, exits, opts.StopTimeout)
					return res, fmt.Errorf("service %s exited before it was ready (%s); its output is above", e.c.label, describe(e.err))
				}
			}
			res.Failures = append(res.Failures, failure)
			if e.c.spec.Restart == host.RestartOnFailure && e.c.restarts < host.MaxRestarts && ctx.Err() == nil {
				e.c.restarts++
				fmt.Fprintf(opts.Stderr, "parigot: %s; restarting it (%d of %d)\n", failure, e.c.restarts, host.MaxRestarts)
				if err := start(e.c); err != nil {
					stopChildren(running, exits, opts.StopTimeout)
					return res, err
				}
				continue
			}
			if servicesOnly {
				stopChildren(running, exits, opts.StopTimeout)
				return res, nil
			}
		case <-ctx.Done():
			stopChildren(running, exits, opts.StopTimeout)
			return res, ctx.Err()
		}
	}
	stopChildren(running, exits, opts.StopTimeout)
	return res, nil
}

func childEnv(c Conn) []string {
	env := os.Environ()
	set := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	set(EnvURL, c.URL)
	set(EnvToken, c.Token)
	set(EnvUser, c.User)
	set(EnvPass, c.Pass)
	set(EnvCreds, c.Creds)
	return env
}

// ConnFromEnv reads the credentials a child was given; url overrides the
// environment's URL when not empty.
func ConnFromEnv(url string) Conn {
	if url == "" {
		url = os.Getenv(EnvURL)
	}
	return Conn{URL: url, Token: os.Getenv(EnvToken), User: os.Getenv(EnvUser), Pass: os.Getenv(EnvPass), Creds: os.Getenv(EnvCreds)}
}

// stopChildren sends SIGTERM to every running child, waits up to timeout,
// then kills what is left.
func stopChildren(running map[*child]bool, exits chan exit, timeout time.Duration) {
	for c := range running {
		c.cmd.Process.Signal(syscall.SIGTERM)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for len(running) > 0 {
		select {
		case e := <-exits:
			delete(running, e.c)
		case <-timer.C:
			for c := range running {
				c.cmd.Process.Kill()
			}
			timer.Reset(timeout)
		}
	}
}

func exitCodeOf(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if code := ee.ExitCode(); code >= 0 {
			return code
		}
	}
	return 1
}

func describe(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
