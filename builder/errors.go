package builder

import (
	"fmt"
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
	Output string // the go command's output, paths relative to the app
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("building guest %s failed:\n%s", e.Guest, strings.TrimRight(e.Output, "\n"))
}
