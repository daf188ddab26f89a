package builder

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"parigot.dev/parigot/internal/diag"
)

// DiagnosticsError carries manifest or proto mistakes, to be rendered with
// their sources (diag.Write).
type DiagnosticsError struct {
	Diags   hcl.Diagnostics
	Sources diag.Sources
}

func (e *DiagnosticsError) Error() string {
	errs := e.Diags.Errs()
	if len(errs) == 1 {
		return errs[0].Error()
	}
	return fmt.Sprintf("%d errors, the first: %v", len(errs), errs[0])
}

// CompileError is a guest that the Go compiler rejected.
type CompileError struct {
	Guest  string
	Output string // the go command's output, its files' paths as the user named the app (see fromAppDir)
}

// goFileAt matches a position the go command prints at the start of a
// line ("  main.go:6:2: ..."): a .go file's path, then a line number.
var goFileAt = regexp.MustCompile(`(?m)^(\s*)([^\s:#][^\s:]*\.go):(\d)`)

// fromAppDir rewrites the go command's positions, relative to the app
// directory it ran in, to paths from dir, the app as the user named it
// (./shop, or the current directory: no change), so that a compiler error
// names its file as parigot.hcl's and a .proto's mistakes do, and a
// terminal or editor opens it from where parigot was run.
func fromAppDir(output, dir string) string {
	if dir == "" || filepath.Clean(dir) == "." {
		return output
	}
	return goFileAt.ReplaceAllStringFunc(output, func(m string) string {
		sub := goFileAt.FindStringSubmatch(m)
		if filepath.IsAbs(sub[2]) {
			return m
		}
		return sub[1] + filepath.Join(dir, filepath.FromSlash(sub[2])) + ":" + sub[3]
	})
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("building guest %s failed:\n%s", e.Guest, strings.TrimRight(e.Output, "\n"))
}
