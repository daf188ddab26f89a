package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"parigot.dev/parigot/internal/srctree"
)

const wazeroModule = "github.com/tetratelabs/wazero"

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
			info, _ := debug.ReadBuildInfo()
			fmt.Fprint(stdout, versionText(info, srctree.BuiltFrom()))
			return nil
		},
	}
}

// versionText renders the build information of the binary, and tree, the
// source tree it was built from ("" when not known); info may be nil.
func versionText(info *debug.BuildInfo, tree string) string {
	version, wazero, goVersion := "(unknown)", "(unknown)", runtime.Version()
	commit, modified := "", false
	if info != nil {
		if info.Main.Version != "" {
			version = info.Main.Version
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		for _, d := range info.Deps {
			if d.Path == wazeroModule {
				if d.Replace != nil {
					d = d.Replace
				}
				wazero = d.Version
			}
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	out := "parigot " + version
	if commit != "" {
		out += " (commit " + commit[:min(12, len(commit))]
		if modified {
			out += ", modified"
		}
		out += ")"
	}
	out += "\n"
	if tree != "" {
		out += "tree    " + tree + "\n"
	}
	return fmt.Sprintf("%sgo      %s %s/%s\nwazero  %s\n", out, goVersion, runtime.GOOS, runtime.GOARCH, wazero)
}
