package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

func newInitCommand(stdout, stderr io.Writer) *cobra.Command {
	var module, parigotDir string
	cmd := &cobra.Command{
		Use:   "init NAME",
		Short: "Create a new app: manifest, proto, a service, a program and a test",
		Long: `init creates the directory NAME (any path; its last element names the app)
holding a working parigot app: parigot.hcl, go.mod and go.sum, a proto with
one service and one method, the service that implements it with a unit test,
a program that calls it, a .gitignore and a README. It then generates the Go
code for the proto, so that 'go test ./...' passes at once and 'parigot run'
prints a greeting.

init refuses to write into a directory that exists and is not empty, and then
changes nothing.

The new go.mod uses the parigot library from a parigot source tree (a
replace directive), with the same dependency versions as parigot itself, so
the app builds offline from the module cache that built parigot. The tree is,
in order: --parigot DIR; $PARIGOT_SRC; the tree this parigot binary was built
from (recorded by the compiler unless built with -trimpath).`,
		Example: `  parigot init shop
  cd shop && parigot run && go test ./...

  parigot init --module example.com/acme/shop ~/src/shop
  parigot init --parigot ~/src/parigot shop`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{err: fmt.Errorf("init takes one argument, the directory of the new app (for example parigot init shop), got %d", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			s, err := newScaffold(dir, module)
			if err != nil {
				return err
			}
			src, err := findParigot(parigotDir)
			if err != nil {
				return err
			}
			if err := s.useParigot(src); err != nil {
				return err
			}
			if _, err := s.create(cmd.Context(), dir, src, stderr); err != nil {
				return err
			}
			printCreated(stdout, s, dir, src)
			return nil
		},
	}
	cmd.Flags().StringVar(&module, "module", "", "Go module path of the new app (default: the app's name)")
	cmd.Flags().StringVar(&parigotDir, "parigot", "", "parigot source tree the app's go.mod uses (default: $PARIGOT_SRC, else the tree parigot was built from)")
	return cmd
}

// printCreated tells the user what init made and what to do next.
func printCreated(w io.Writer, s *scaffold, dir string, src parigotSource) {
	rows := [][2]string{
		{"parigot.hcl", "the manifest"},
		{"proto/" + s.Pkg + "/v1/" + s.Pkg + ".proto", "the protocol: " + s.Pkg + ".v1." + s.Type},
		{s.Service + "/", "the service, with its unit test"},
		{s.Program + "/", "the program that calls it"},
		{"topology_test.go", "a test of the running app: a call, and the program's output"},
		{"gen/" + s.Pkg + "/v1/", "Go code generated from the proto"},
	}
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	fmt.Fprintf(w, "Created app %s in %s (module %s):\n", s.Name, dir, s.Module)
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s\n", width, r[0], r[1])
	}
	fmt.Fprintf(w, "It uses the parigot library in %s (%s).\n\nNext:\n  cd %s\n  parigot run\n  parigot test\n",
		src.Dir, src.How, shellQuote(dir))
}

// shellQuote quotes dir for a POSIX shell when it needs it.
func shellQuote(dir string) string {
	for _, r := range dir {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '/' || r == '.' || r == '_' || r == '-' || r == '~') {
			return "'" + strings.ReplaceAll(dir, "'", `'\''`) + "'"
		}
	}
	return dir
}
