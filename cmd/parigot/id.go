package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"parigot.dev/parigot/boilerplateid"
)

func newIdCommand(stdout, stderr io.Writer) *cobra.Command {
	var letter, pkg, out string
	cmd := &cobra.Command{
		Use:   "id NAME --letter x --package p [-o file]",
		Short: "Generate one typed Id type (NAMEId) as Go code",
		Long: `id writes the Go code of one typed Id type, NAMEId, to stdout or to the file
given with -o (rewritten only when its content changes). It is what parigot
build does for each id block of parigot.hcl, for code outside a parigot app.

NAME is the type's name without the Id suffix (Order gives OrderId); the letter
starts its string form (o-<28 hex digits>); the package is the Go package name
of the file. The generated code imports parigot.dev/parigot/proto/parigot/id/v1
for its protobuf form. docs/IDS.md describes the API.`,
		Example: `  parigot id Order --letter o --package ids
  parigot id Order --letter o --package ids -o internal/ids/order_id.go`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{err: fmt.Errorf("id takes one type name, for example parigot id Order --letter o --package ids; got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			for flag, v := range map[string]string{"letter": letter, "package": pkg} {
				if v == "" {
					return usageError{err: fmt.Errorf("id needs --%s, for example parigot id %s --letter o --package ids", flag, args[0])}
				}
			}
			spec := boilerplateid.Spec{Name: args[0], Letter: letter, Package: pkg}
			if err := spec.Check(); err != nil {
				return usageError{err: err}
			}
			if b, ok := boilerplateid.Builtin(letter); ok {
				fmt.Fprintf(stderr, "parigot: warning: letter %q is also used by parigot's built-in %s; parigot build refuses it in an app's id blocks\n", letter, b.TypeName())
			}
			src, err := boilerplateid.Generate(spec)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err := stdout.Write(src)
				return err
			}
			if old, err := os.ReadFile(out); err == nil && bytes.Equal(old, src) {
				return nil
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return fmt.Errorf("writing %s: %w", spec.TypeName(), err)
			}
			if err := os.WriteFile(out, src, 0o644); err != nil {
				return fmt.Errorf("writing %s: %w", spec.TypeName(), err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&letter, "letter", "l", "", "the lowercase letter that starts the string form (required)")
	cmd.Flags().StringVarP(&pkg, "package", "p", "", "the Go package name of the generated file (required)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	return cmd
}
