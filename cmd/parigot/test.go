package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/cmd/parigot/internal/gotest"
	"parigot.dev/parigot/internal/compcache"
	"parigot.dev/parigot/internal/tempdir"
	"parigot.dev/parigot/runtime/apptest"
)

// testFlags are the flags of parigot test.
type testFlags struct {
	mode    string
	run     string
	verbose bool
	junit   string
}

func newTestCommand(stdout, stderr io.Writer) *cobra.Command {
	var f testFlags
	cmd := &cobra.Command{
		Use:   "test [app-dir]",
		Short: "Build the app, then run its unit tests and topology tests",
		Long: `test builds the app in app-dir (default: the current directory) like
'parigot build', then runs the Go tests of the app's packages natively
('go test ./...' in app-dir): the unit tests of the services' plain Go
halves, and the topology tests, which start the built app with package
parigot.dev/parigot/runtime/apptest and call its services through typed
native clients.

--mode says how topology tests run the app: single, split, or both (each
test once per mode; the summary counts both passes and names the mode of a
failure). The output ends with the line "N passed, M failed" (", K skipped"
when any), counting top-level tests; failing tests, subtests included, are
named above it.

Exit codes: 0 every test passed; 1 a test failed, a test package did not
compile, or the app did not build (shown as 'parigot build' shows it).`,
		Example: `  parigot test
  parigot test ./examples/helloworld
  parigot test --mode=both --junit=report.xml
  parigot test --run 'TestHelloworld/FetchGreeting' -v`,
		Args: maxOneDir,
		RunE: func(cmd *cobra.Command, args []string) error {
			tempdir.Sweep(os.TempDir()) // what runs killed with kill -9 left
			var modes []string
			switch f.mode {
			case "single", "split":
				modes = []string{f.mode}
			case "both":
				modes = []string{"single", "split"}
			default:
				return unknownMode(f.mode, "single", "split", "both")
			}
			if _, err := compcache.PolicyFromEnv(); err != nil {
				return err
			}
			ctx := cmd.Context()
			res, err := builder.Build(ctx, builder.Options{Dir: appDir(args), Progress: stderr})
			if err != nil {
				return err
			}
			var passes []*gotest.Pass
			for _, mode := range modes {
				if len(modes) > 1 {
					// Which pass a line belongs to is part of the result:
					// said on stdout, with the results, for a CI log that
					// keeps stdout alone. One pass needs no such line.
					fmt.Fprintf(stdout, "parigot: testing %s in %s mode\n", res.App.Name, mode)
				}
				p, err := gotest.Run(ctx, gotest.Options{Dir: res.App.Dir, Mode: mode, Run: f.run, Verbose: f.verbose,
					Env: []string{apptest.EnvMode + "=" + mode}, Progress: stderr}, stdout)
				if err != nil {
					return err
				}
				passes = append(passes, p)
			}
			if f.junit != "" {
				if err := gotest.WriteJUnit(f.junit, passes, len(modes) > 1); err != nil {
					return err
				}
			}
			if !gotest.Summarize(stdout, passes, len(modes) > 1) {
				return exitCode(exitFailure)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&f.mode, "mode", "single", "how topology tests run the app: single, split or both")
	cmd.Flags().StringVar(&f.run, "run", "", "run only the tests matching this regular expression (as go test -run)")
	cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "print the output of every test, not only of failing ones")
	cmd.Flags().StringVar(&f.junit, "junit", "", "write a JUnit XML report to this file")
	return cmd
}
