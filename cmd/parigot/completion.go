package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// newCompletionCommand replaces cobra's default completion command (cobra
// adds its own only when the root has none) to give it an example and
// parigot's usage errors.
func newCompletionCommand(stdout io.Writer) *cobra.Command {
	shells := []string{"bash", "zsh", "fish"}
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print the shell completion script for bash, zsh or fish",
		Long: `completion prints a script that makes your shell complete parigot's
commands, flags and arguments. Load it in the shell's start-up file.`,
		Example: `  # bash (needs the bash-completion package), in ~/.bashrc:
  source <(parigot completion bash)

  # zsh, in ~/.zshrc (after compinit):
  source <(parigot completion zsh)

  # fish:
  parigot completion fish > ~/.config/fish/completions/parigot.fish`,
		ValidArgs:             shells,
		DisableFlagsInUseLine: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{err: fmt.Errorf("completion takes one argument, the shell: bash, zsh or fish")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(stdout, true)
			case "zsh":
				return root.GenZshCompletion(stdout)
			case "fish":
				return root.GenFishCompletion(stdout, true)
			}
			return usageError{err: fmt.Errorf("completion for %q is not available: the shells are bash, zsh and fish", args[0])}
		},
	}
}
