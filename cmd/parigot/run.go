package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/runtime/host"
)

func newRunCommand(stdout, stderr io.Writer) *cobra.Command {
	var mode string
	cmd := &cobra.Command{
		Use:   "run [app-dir]",
		Short: "Build the app, then run all its services and programs",
		Long: `run builds the app in app-dir (default: the current directory) like
'parigot build', then starts its services in the order their requires give,
then its programs. It ends when the programs end, with their exit code. Each
line a guest prints is prefixed with the guest's name.

Modes:
  single  every guest in this one process (the default; easiest to debug)`,
		Example: `  parigot run
  parigot run ./examples/helloworld`,
		Args: maxOneDir,
		RunE: func(cmd *cobra.Command, args []string) error {
			if mode != "single" {
				return usageError{fmt.Errorf("unknown --mode %q: the modes are single", mode)}
			}
			ctx := cmd.Context()
			res, err := builder.Build(ctx, builder.Options{Dir: appDir(args), Progress: stderr})
			if err != nil {
				return err
			}
			out, err := host.Run(ctx, host.Config{
				Guests: host.GuestsFromManifest(res.App, res.Wasm),
				Stdout: stdout,
				Stderr: stderr,
			})
			if err != nil {
				return err
			}
			for _, f := range out.Failures {
				fmt.Fprintf(stderr, "parigot: %s\n", f)
			}
			if out.ExitCode == 0 && len(out.Failures) > 0 {
				return exitCode(exitFailure)
			}
			if out.ExitCode != 0 {
				if len(out.Failures) == 0 {
					fmt.Fprintf(stderr, "parigot: the app's program exited with code %d\n", out.ExitCode)
				}
				return exitCode(out.ExitCode)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&mode, "mode", "single", "how to run the guests: "+strings.Join([]string{"single"}, ", "))
	return cmd
}
