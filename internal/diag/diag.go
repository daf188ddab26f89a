// Package diag renders hcl.Diagnostics the way Terraform does: severity,
// summary, file:line:col, the offending source line with the range marked,
// and the detail that says what to do. Both manifest and proto errors are
// hcl.Diagnostics, so the CLI renders every user mistake through here.
package diag

import (
	"io"

	"github.com/hashicorp/hcl/v2"
)

// Sources maps a file name, as it appears in hcl.Range.Filename, to the file's
// contents, so that diagnostics can show the source line.
type Sources map[string][]byte

// Add records the contents of a file.
func (s Sources) Add(name string, src []byte) { s[name] = src }

// Merge copies every file of o into s.
func (s Sources) Merge(o Sources) {
	for k, v := range o {
		s[k] = v
	}
}

// Write renders diags to w, wrapping at width columns (0: no wrapping).
func Write(w io.Writer, diags hcl.Diagnostics, src Sources, width uint, color bool) error {
	files := make(map[string]*hcl.File, len(src))
	for name, b := range src {
		files[name] = &hcl.File{Bytes: b}
	}
	return hcl.NewDiagnosticTextWriter(w, files, width, color).WriteDiagnostics(diags)
}

// Errorf builds an error diagnostic at rng.
func Errorf(rng hcl.Range, summary, detail string) *hcl.Diagnostic {
	r := rng
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &r}
}
