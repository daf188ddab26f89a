package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/manifest"
)

// bufVersion is the buf release parigot check is tested with, and the one
// its error tells users to install.
const bufVersion = "v1.75.0"

func newCheckCommand(stdout, stderr io.Writer) *cobra.Command {
	var against string
	cmd := &cobra.Command{
		Use:   "check [app-dir] [--against REF]",
		Short: "Lint the app's protos, and find changes that break callers, with buf",
		Long: `check runs buf (which must be on PATH) on the protos of the app in app-dir
(default: the current directory): buf lint, then, with --against, buf
breaking against the same protos at a git ref. A change that breaks the wire
or the generated code (a field's type changed, a method removed) is what a
service upgraded on one machine must not do to the callers on others that
still run the old code.

The protos are those of parigot.hcl's proto blocks: a block with buf = "..."
uses that buf.yaml (its lint and breaking settings too); other blocks are
checked as buf modules of their own, with buf's default rules.

Install buf with:
  go install github.com/bufbuild/buf/cmd/buf@` + bufVersion,
		Example: `  parigot check
  parigot check --against main
  parigot check ./examples/helloworld --against HEAD~1`,
		Args: maxOneDir,
		RunE: func(cmd *cobra.Command, args []string) error {
			app, err := builder.LoadProtos(appDir(args))
			if err != nil {
				return err
			}
			return check(cmd, app, against, stdout, stderr)
		},
	}
	cmd.Flags().StringVar(&against, "against", "", "a git ref (branch, tag, commit) to check for breaking changes against")
	return cmd
}

// check runs buf lint and, with a ref, buf breaking on app's protos.
func check(cmd *cobra.Command, app *manifest.App, against string, stdout, stderr io.Writer) error {
	buf, err := exec.LookPath("buf")
	if err != nil {
		return fmt.Errorf("parigot check runs buf, which is not on PATH; install it with\n  go install github.com/bufbuild/buf/cmd/buf@%s\nand make sure $(go env GOPATH)/bin is on PATH", bufVersion)
	}
	dir, config, err := bufWorkspace(app)
	if err != nil {
		return err
	}
	run := func(args ...string) error {
		c := exec.CommandContext(cmd.Context(), buf, args...)
		c.Dir = dir
		c.Stdout, c.Stderr = stdout, stderr
		return c.Run()
	}
	withConfig := func(args ...string) []string {
		if config != "" {
			args = append(args, "--config", config)
		}
		return args
	}
	failed := false
	if err := run(withConfig("lint")...); err != nil {
		if !isExit(err) {
			return fmt.Errorf("running buf lint: %w", err)
		}
		fmt.Fprintln(stderr, "parigot: buf lint found the problems above")
		failed = true
	} else {
		fmt.Fprintln(stderr, "parigot: buf lint: no problems")
	}
	if against != "" {
		input, err := gitInput(dir, against)
		if err != nil {
			return err
		}
		args := withConfig("breaking", "--against", input)
		if config != "" {
			args = append(args, "--against-config", config)
		}
		if err := run(args...); err != nil {
			if !isExit(err) {
				return fmt.Errorf("running buf breaking: %w", err)
			}
			fmt.Fprintf(stderr, "parigot: buf breaking found changes that break callers built from %s, above\n", against)
			failed = true
		} else {
			fmt.Fprintf(stderr, "parigot: buf breaking: nothing breaks callers built from %s\n", against)
		}
	}
	if failed {
		return exitCode(exitFailure)
	}
	return nil
}

// bufWorkspace says where to run buf for app, and with which configuration:
// the directory of the buf.yaml a proto block names (no configuration: buf
// reads it), or the app directory with a configuration of one module per
// proto block's root.
func bufWorkspace(app *manifest.App) (dir, config string, err error) {
	if len(app.Protos) == 0 {
		return "", "", fmt.Errorf("%s declares no proto block: there is nothing for buf to check", app.File)
	}
	for _, p := range app.Protos {
		if p.Buf != "" {
			return filepath.Dir(filepath.Join(app.Dir, filepath.FromSlash(p.Buf))), "", nil
		}
	}
	type module struct {
		Path string `json:"path"`
	}
	cfg := struct {
		Version string   `json:"version"`
		Modules []module `json:"modules"`
	}{Version: "v2"}
	seen := map[string]bool{}
	for _, p := range app.Protos {
		if !seen[p.Root] {
			seen[p.Root] = true
			cfg.Modules = append(cfg.Modules, module{Path: p.Root})
		}
	}
	b, err := json.Marshal(cfg)
	return app.Dir, string(b), err
}

// gitInput is buf's input for dir's protos at the git ref: the enclosing
// repository at ref, below dir's path in it.
func gitInput(dir, ref string) (string, error) {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("--against %s needs the app in a git repository: %s is not in one", ref, dir)
	}
	top := strings.TrimSpace(string(out))
	sub, err := filepath.Rel(top, dir)
	if err != nil {
		return "", err
	}
	if err := exec.Command("git", "-C", top, "rev-parse", "--verify", "--quiet", ref+"^{commit}").Run(); err != nil {
		return "", fmt.Errorf("--against %s: no such commit, branch or tag in %s", ref, top)
	}
	input := filepath.Join(top, ".git") + "#ref=" + ref
	if sub != "." {
		input += ",subdir=" + filepath.ToSlash(sub)
	}
	return input, nil
}

func isExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}
