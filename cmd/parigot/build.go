package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"parigot.dev/parigot/builder"
)

func newBuildCommand(stderr io.Writer) *cobra.Command {
	var jobs int
	cmd := &cobra.Command{
		Use:   "build [app-dir]",
		Short: "Generate code from the protos and compile every guest to build/*.wasm",
		Long: `build reads parigot.hcl in app-dir (default: the current directory), generates
Go code from the declared .proto files, and compiles every service and program
with GOOS=wasip1 GOARCH=wasm into app-dir/build/<name>.wasm. Only what changed
is rebuilt.`,
		Example: `  parigot build
  parigot build ./examples/helloworld`,
		Args: maxOneDir,
		RunE: func(cmd *cobra.Command, args []string) error {
			if jobs < 0 {
				return usageError{err: fmt.Errorf("--jobs %d: give how many guests to compile at once, 1 or more (0, the default: as many as there are CPUs)", jobs)}
			}
			_, err := builder.Build(cmd.Context(), builder.Options{Dir: appDir(args), Progress: stderr, Live: isTerminal(stderr), Jobs: jobs})
			return err
		},
	}
	cmd.Flags().IntVarP(&jobs, "jobs", "j", 0, "guests to compile in parallel (default: the number of CPUs)")
	return cmd
}

// isTerminal reports whether w is a terminal, for live progress.
func isTerminal(w io.Writer) bool {
	tty, _ := terminal(w)
	return tty
}
