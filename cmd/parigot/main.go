// Command parigot builds and runs parigot apps: microservices written in Go,
// compiled to WebAssembly, declared in one parigot.hcl.
//
// Exit codes: 0 success; 1 parigot could not do what was asked (a mistake in
// parigot.hcl or a .proto, a build failure, a guest that crashed); 2 a command
// line that parigot does not understand; 130 interrupted. `parigot run` exits
// with the exit code of the app's program when the program ran to its end.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/internal/diag"
	"parigot.dev/parigot/runtime/host"
)

func main() {
	os.Exit(parigot(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes of the parigot command.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// exitCode is an error that carries the exit code parigot must end with,
// after whatever it had to say has been said.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit code %d", int(e)) }

// usageError is a command line parigot does not understand. command is
// the command it was for ("parigot build"), whose help the message points
// to; empty: parigot's own.
type usageError struct {
	err     error
	command string
}

func (e usageError) Error() string { return e.err.Error() }

func parigot(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCommand(stdout, stderr)
	ran := markRunning(root)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && !*ran && !errors.As(err, new(usageError)) {
		// cobra refused the command line before any command ran: an
		// unknown command, wrong arguments, a missing required flag.
		err = usageError{err: err}
	}
	var usage usageError
	if errors.As(err, &usage) && usage.command == "" && cmd != nil && cmd != root {
		usage.command = cmd.CommandPath()
		err = usage
	}
	return report(err, ownLines(cmd, stderr))
}

// ownLines is where parigot says how cmd ended: stderr, each line made a
// JSON record when cmd was given --log-format json, as its other lines are
// (see host.OwnLines).
func ownLines(cmd *cobra.Command, stderr io.Writer) io.Writer {
	if cmd == nil {
		return stderr
	}
	f := cmd.Flags().Lookup(logFormatFlag)
	return host.OwnLines(stderr, f != nil && f.Value.String() == "json")
}

// markRunning wraps the RunE of every command below root so that the flag it
// returns says whether a command began its work. An error that comes before
// that can only be about the command line.
func markRunning(root *cobra.Command) *bool {
	ran := new(bool)
	var wrap func(c *cobra.Command)
	wrap = func(c *cobra.Command) {
		if run := c.RunE; run != nil {
			c.RunE = func(cmd *cobra.Command, args []string) error {
				*ran = true
				return run(cmd, args)
			}
		}
		for _, sub := range c.Commands() {
			wrap(sub)
		}
	}
	wrap(root)
	return ran
}

// report renders err once, at the edge, on stderr (with --log-format json,
// host.OwnLines of it), and returns the exit code.
func report(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "parigot: interrupted")
		return exitInterrupted
	}
	var diags *builder.DiagnosticsError
	if errors.As(err, &diags) {
		writeDiagnostics(stderr, diags)
		return exitFailure
	}
	var usage usageError
	if errors.As(err, &usage) {
		command := usage.command
		if command == "" {
			command = "parigot"
		}
		fmt.Fprintf(stderr, "parigot: %v\nRun '%s --help' for usage.\n", usage.err, command)
		return exitUsage
	}
	// Several errors at once (guests the Go compiler rejected, say): each
	// on lines of its own, each said by parigot.
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			fmt.Fprintf(stderr, "parigot: %v\n", e)
		}
		return exitFailure
	}
	fmt.Fprintf(stderr, "parigot: %v\n", err)
	return exitFailure
}

// writeDiagnostics renders the diagnostics of e on stderr, with their
// sources, in colour on a terminal.
func writeDiagnostics(stderr io.Writer, e *builder.DiagnosticsError) {
	color, width := terminal(stderr)
	diag.Write(stderr, e.Diags, e.Sources, width, color)
}

// terminal reports whether w is a terminal (for colour) and its width.
func terminal(w io.Writer) (color bool, width uint) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, 0
	}
	if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
		width = uint(cols)
	}
	return true, width
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "parigot",
		Short: "Build and run microservices written in Go and compiled to WebAssembly",
		Long: `parigot builds and runs an app declared in parigot.hcl: its protocols
(.proto files), its services and its programs. The same compiled guests run in
one process (single mode) or one process per service (split mode).`,
		Example: `  parigot init shop          # a new app in ./shop
  cd shop
  parigot run                # build it and run it in this process
  parigot run --mode=split   # the same guests, one process each, over NATS
  parigot test               # its unit tests and topology tests
  parigot graph              # its topology, as a Mermaid diagram

Exit codes:
  0    success
  1    parigot could not do what was asked: a mistake in parigot.hcl or a
       .proto, a build failure, a guest that crashed, init into a non-empty
       directory, a failing test (parigot test)
  2    a command line parigot does not understand
  130  interrupted (Ctrl-C or SIGTERM)
  N    parigot run: the exit code of the app's program, when it ended with one`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err: numberFlagError(err)} })
	root.AddCommand(newBuildCommand(stderr), newGenerateCommand(stderr), newRunCommand(stdout, stderr), newDevCommand(stdout, stderr), newGuestCommand(stdout, stderr),
		newInitCommand(stdout, stderr), newTestCommand(stdout, stderr), newGraphCommand(stdout), newVersionCommand(stdout), newCompletionCommand(stdout),
		newIdCommand(stdout, stderr), newNATSConfigCommand(stdout, stderr), newCacheCommand(stdout), newCheckCommand(stdout, stderr), newStateCommand(stdout, stderr))
	return root
}

// appDir is the app directory named on the command line, "." by default.
func appDir(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return "."
}

func maxOneDir(cmd *cobra.Command, args []string) error {
	if len(args) > 1 {
		return usageError{err: fmt.Errorf("%s takes at most one app directory, got %d arguments", cmd.Name(), len(args))}
	}
	return nil
}

// sayTo is what says a line of parigot's own to stderr ("parigot: ...").
func sayTo(stderr io.Writer) func(string) {
	return func(msg string) { fmt.Fprintf(stderr, "parigot: %s\n", msg) }
}
