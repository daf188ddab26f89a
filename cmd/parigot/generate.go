package main

import (
	"io"

	"github.com/spf13/cobra"

	"parigot.dev/parigot/builder"
)

func newGenerateCommand(stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "generate [app-dir]",
		Short: "Generate the Go code of the protos and Id types, without compiling guests",
		Long: `generate reads parigot.hcl in app-dir (default: the current directory) and
writes the Go code that parigot build writes first: the protos' messages, the
parigot stubs and typed native clients, and the Id types. Only files whose
content changed are rewritten. It compiles no guest, so it needs no guest's
source: declare a new service in parigot.hcl, run parigot generate, and the
service's first lines can import its generated code. A guest whose source
directory is missing or holds no main package yet gets a note, not an error;
parigot build still needs it.`,
		Example: `  parigot generate
  parigot generate ./examples/helloworld`,
		Args: maxOneDir,
		RunE: func(cmd *cobra.Command, args []string) error {
			return builder.Generate(cmd.Context(), appDir(args), stderr)
		},
	}
}
