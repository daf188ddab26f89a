package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/codegen"
	"parigot.dev/parigot/manifest"
)

// bufVersion is the buf release parigot check is tested with, and the one
// its error tells users to install.
const bufVersion = "v1.75.0"

func newCheckCommand(stdout, stderr io.Writer) *cobra.Command {
	var against string
	cmd := &cobra.Command{
		Use:   "check [app-dir] [--against REF]",
		Short: "Check parigot.hcl against the protos, then lint them and find changes that break callers, with buf",
		Long: `check checks the app in app-dir (default: the current directory) against
its protos, as parigot build does before it writes anything (an implements
entry or a subscription naming what the protos do not define is an error at
its place in parigot.hcl), then runs buf (which must be on PATH) on the
protos: buf lint, then, with --against, buf breaking against the same
protos at a git ref. A change that breaks the wire
or the generated code (a field's type changed, a method removed) is what a
service upgraded on one machine must not do to the callers on others that
still run the old code.

The protos are those of parigot.hcl's proto blocks: a block with buf = "..."
uses that buf.yaml (its lint and breaking settings too); other blocks are
checked as buf modules of their own, with buf's default rules but those
that refuse parigot's idioms (see docs/CLI.md), and with the protos parigot ships (parigot/id/v1,
parigot/errors/v1, google/api) where buf finds them.

Install buf with:
  go install github.com/bufbuild/buf/cmd/buf@` + bufVersion,
		Example: `  parigot check
  parigot check --against main
  parigot check ./examples/helloworld --against HEAD~1`,
		Args: maxOneDir,
		RunE: func(cmd *cobra.Command, args []string) error {
			app, err := builder.LoadDeclared(appDir(args))
			if err != nil {
				return err
			}
			// parigot.hcl against the protos first, as a build checks it:
			// buf reads the protos alone. When the protos themselves have
			// an error, buf would say it again: parigot's, at its place,
			// is enough.
			protosOK, vetErr := builder.Vet(cmd.Context(), app, appDir(args))
			var diags *builder.DiagnosticsError
			if vetErr != nil && (!protosOK || !errors.As(vetErr, &diags)) {
				return vetErr
			}
			if diags != nil {
				writeDiagnostics(stderr, diags)
				fmt.Fprintln(stderr, "parigot: the app's mistakes are above; buf checks the protos next")
			}
			if err := check(cmd, app, against, stdout, stderr); err != nil {
				return err
			}
			if diags != nil {
				return exitCode(exitFailure)
			}
			return nil
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
	if len(app.Protos) == 0 {
		return fmt.Errorf("%s declares no proto block: there is nothing for buf to check", app.File)
	}
	tmp, err := os.MkdirTemp("", "parigot-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ws, err := bufWorkspace(app, app.Dir, filepath.Join(tmp, "now"))
	if err != nil {
		return err
	}
	// buf's findings come as JSON and are shown as diagnostics (see
	// bufDiagnostics); its own errors (a .proto it cannot compile) pass
	// through on stderr.
	run := func(detail func(string) string, args ...string) error {
		var out bytes.Buffer
		c := exec.CommandContext(cmd.Context(), buf, append(args, "--error-format=json")...)
		c.Dir = ws.dir
		c.Stdout, c.Stderr = &out, stderr
		err := c.Run()
		writeBufFindings(out.Bytes(), ws, app.Dir, detail, stdout, stderr)
		return err
	}
	failed := false
	if err := run(lintDetail(ws), ws.args("lint")...); err != nil {
		if !isExit(err) {
			return fmt.Errorf("running buf lint: %w", err)
		}
		fmt.Fprintln(stderr, "parigot: buf lint found the problems above")
		failed = true
	} else {
		fmt.Fprintln(stderr, "parigot: buf lint: no problems")
	}
	if against != "" {
		then, err := againstInput(app, against, filepath.Join(tmp, "then"))
		if err != nil {
			return err
		}
		args := ws.args("breaking", "--against", then.dir)
		if then.config != "" {
			args = append(args, "--against-config", then.config)
		}
		if err := run(breakingDetail(against), args...); err != nil {
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

// workspace is where buf runs, and with which configuration: the
// directory of the buf.yaml a proto block names (config empty: buf reads
// it), or a copy of the app's protos (see bufWorkspace).
type workspace struct {
	dir, config string
	buf         string // the app-relative directory of the app's buf.yaml, or ""
}

func (w workspace) args(args ...string) []string {
	if w.config != "" {
		args = append(args, "--config", w.config)
	}
	return args
}

// shippedModule is the directory, in a workspace parigot writes, of the
// protos an app may import that parigot resolves itself.
const shippedModule = "parigot_shipped"

// parigotLintExceptions are the rules of buf's STANDARD lint that an app
// without a buf.yaml is not held to, because they refuse what parigot's
// own idioms are: a service named for what it serves (Greeting, not
// GreetingService: SERVICE_SUFFIX); a subscription's method takes the
// topic's message as its request (RPC_REQUEST_STANDARD_NAME); and a REST
// method answers with the resource itself, as Google's API guidelines and
// the gateway's examples have it (GetBook returns a Book:
// RPC_RESPONSE_STANDARD_NAME, RPC_REQUEST_RESPONSE_UNIQUE).
var parigotLintExceptions = []string{"SERVICE_SUFFIX", "RPC_REQUEST_STANDARD_NAME", "RPC_RESPONSE_STANDARD_NAME", "RPC_REQUEST_RESPONSE_UNIQUE"}

// bufWorkspace is the buf workspace of app's protos, read from src (the
// app's directory, or a copy of it at a git ref). A block that names a
// buf.yaml is checked with that buf.yaml (see bufYAMLWorkspace).
// Otherwise parigot writes one into dst: the .proto files below each
// block's root, at the same app-relative paths (so that buf's findings
// name the app's files), and a module of the protos parigot ships and
// resolves itself (parigot/id/v1, parigot/errors/v1, google/api), which
// buf cannot find on its own, left out of lint and breaking. Its rules are
// buf's defaults but parigotLintExceptions.
func bufWorkspace(app *manifest.App, src, dst string) (workspace, error) {
	for _, p := range app.Protos {
		if p.Buf != "" {
			dir := path.Dir(p.Buf)
			return bufYAMLWorkspace(filepath.Join(src, filepath.FromSlash(dir)), dst, dir)
		}
	}
	type module struct {
		Path string `json:"path"`
	}
	type rules struct {
		Use    []string `json:"use,omitempty"`
		Except []string `json:"except,omitempty"`
		Ignore []string `json:"ignore"`
	}
	cfg := struct {
		Version  string   `json:"version"`
		Modules  []module `json:"modules"`
		Lint     rules    `json:"lint"`
		Breaking rules    `json:"breaking"`
	}{Version: "v2",
		Lint:     rules{Use: []string{"STANDARD"}, Except: parigotLintExceptions, Ignore: []string{shippedModule}},
		Breaking: rules{Ignore: []string{shippedModule}}}
	seen := map[string]bool{}
	for _, p := range app.Protos {
		if seen[p.Root] {
			continue
		}
		seen[p.Root] = true
		cfg.Modules = append(cfg.Modules, module{Path: p.Root})
		if err := copyProtos(filepath.Join(src, filepath.FromSlash(p.Root)), filepath.Join(dst, filepath.FromSlash(p.Root))); err != nil {
			return workspace{}, err
		}
	}
	cfg.Modules = append(cfg.Modules, module{Path: shippedModule})
	shipped, err := codegen.ImportableSources()
	if err != nil {
		return workspace{}, err
	}
	if err := writeShipped(filepath.Join(dst, shippedModule), shipped); err != nil {
		return workspace{}, err
	}
	b, err := json.Marshal(cfg)
	return workspace{dir: dst, config: string(b)}, err
}

// bufYAMLWorkspace writes a workspace for buf from the app's own buf.yaml
// in src (dir, app-relative): its .proto files copied to dst, and the
// protos parigot ships, which the app may import and buf cannot find by
// itself, beside them. The config is the app's buf.yaml with the shipped
// protos added as a module of their own (or, when a module of the app is
// the workspace's root, into it, where the app has none of those files),
// and left out of lint and breaking.
func bufYAMLWorkspace(src, dst, dir string) (workspace, error) {
	data, err := os.ReadFile(filepath.Join(src, "buf.yaml"))
	if err != nil {
		return workspace{}, err
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil || cfg == nil {
		return workspace{}, fmt.Errorf("reading %s: %v", filepath.Join(dir, "buf.yaml"), err)
	}
	if err := copyProtos(src, dst); err != nil {
		return workspace{}, err
	}
	shipped, err := codegen.ImportableSources()
	if err != nil {
		return workspace{}, err
	}
	modules, _ := cfg["modules"].([]any)
	atRoot := len(modules) == 0
	for _, m := range modules {
		if mm, ok := m.(map[string]any); ok && path.Clean(fmt.Sprint(mm["path"])) == "." {
			atRoot = true
		}
	}
	var ignore []any
	if atRoot {
		for name, b := range shipped {
			p := filepath.Join(dst, filepath.FromSlash(name))
			if _, err := os.Stat(p); err == nil {
				continue // the app's own copy
			}
			if err := writeFile(p, b); err != nil {
				return workspace{}, err
			}
			ignore = append(ignore, name)
		}
	} else {
		if err := writeShipped(filepath.Join(dst, shippedModule), shipped); err != nil {
			return workspace{}, err
		}
		cfg["modules"] = append(modules, map[string]any{"path": shippedModule})
		ignore = []any{shippedModule}
	}
	for _, section := range []string{"lint", "breaking"} {
		rules, _ := cfg[section].(map[string]any)
		if rules == nil {
			rules = map[string]any{}
		}
		old, _ := rules["ignore"].([]any)
		rules["ignore"] = append(old, ignore...)
		cfg[section] = rules
	}
	b, err := json.Marshal(cfg)
	return workspace{dir: dst, config: string(b), buf: dir}, err
}

// copyProtos copies the .proto files below from (a proto root) to the same
// places below to, leaving out parigot's build directory; a root that does
// not exist (at an older ref) has none.
func copyProtos(from, to string) error {
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() && (rel == "build" || rel != "." && strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".proto") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(to, rel), b)
	})
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(to, 0o755)
	}
	return err
}

// writeShipped writes the protos parigot ships (ImportableSources) below
// dir, as the module of them a workspace for buf holds.
func writeShipped(dir string, shipped map[string][]byte) error {
	for name, b := range shipped {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(name)), b); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, b, 0o644)
}

// againstInput is buf's input for the app's protos at the git ref: a
// workspace as bufWorkspace writes one, from the app's files at ref (with
// the buf.yaml they had then, for an app with its own).
func againstInput(app *manifest.App, ref, dst string) (workspace, error) {
	out, err := exec.Command("git", "-C", app.Dir, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return workspace{}, fmt.Errorf("--against %s needs the app in a git repository: %s is not in one", ref, app.Dir)
	}
	top := strings.TrimSpace(string(out))
	if err := exec.Command("git", "-C", top, "rev-parse", "--verify", "--quiet", ref+"^{commit}").Run(); err != nil {
		return workspace{}, fmt.Errorf("--against %s: no such commit, branch or tag in %s", ref, top)
	}
	sub, err := filepath.Rel(top, app.Dir)
	if err != nil {
		return workspace{}, err
	}
	then := filepath.Join(dst, "app")
	if err := gitExtract(top, ref, filepath.ToSlash(sub), then); err != nil {
		return workspace{}, fmt.Errorf("--against %s: reading the app's files at %s: %w", ref, ref, err)
	}
	return bufWorkspace(app, then, filepath.Join(dst, "ws"))
}

// gitExtract writes the files of the repository at top, at ref, below sub
// (slash-separated, "." for all), into dst, at their paths below sub.
func gitExtract(top, ref, sub, dst string) error {
	args := []string{"-C", top, "archive", "--format=tar", ref}
	if sub != "." {
		args = append(args, "--", sub)
	}
	c := exec.Command("git", args...)
	out, err := c.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		return err
	}
	tr := tar.NewReader(out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			c.Wait()
			return err
		}
		name := path.Clean(h.Name)
		if sub != "." {
			name = strings.TrimPrefix(name, sub+"/")
		}
		if h.Typeflag != tar.TypeReg || name == h.Name && sub != "." || strings.HasPrefix(name, "../") {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			c.Wait()
			return err
		}
		if err := writeFile(filepath.Join(dst, filepath.FromSlash(name)), b); err != nil {
			c.Wait()
			return err
		}
	}
	if err := c.Wait(); err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func isExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}
