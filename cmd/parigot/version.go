package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"parigot.dev/parigot/internal/buildinfo"
	"parigot.dev/parigot/internal/srctree"
)

func newVersionCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the versions of parigot, Go and wazero",
		Long: `version prints the version of this parigot binary (its module version,
with the commit it was built from when the go command recorded one; (devel)
under go run), the source tree it was built from when that tree is still
there (the one an app's go.mod should name: docs/CLI.md, "Upgrading
parigot"), the Go version that compiled it, and the version of wazero, the
WebAssembly runtime that runs the guests.`,
		Example: `  parigot version`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{err: fmt.Errorf("version takes no arguments, got %d", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprint(stdout, versionText(buildinfo.Read(), srctree.BuiltFrom()))
			return nil
		},
	}
}

// versionText renders p, this parigot, and tree, the source tree it was
// built from ("" when not known).
func versionText(p buildinfo.Parigot, tree string) string {
	out := "parigot " + p.Version
	if p.Revision != "" {
		out += " (commit " + p.Revision[:min(12, len(p.Revision))]
		if p.Modified {
			out += ", modified"
		}
		out += ")"
	}
	out += "\n"
	if tree != "" {
		out += "tree    " + tree + "\n"
	}
	return fmt.Sprintf("%sgo      %s %s/%s\nwazero  %s\n", out, p.Go, runtime.GOOS, runtime.GOARCH, p.Wazero)
}
