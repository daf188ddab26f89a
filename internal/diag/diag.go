// Package diag renders hcl.Diagnostics the way Terraform does, with the
// position spelled file:line:col: severity and summary, where, the offending
// source line with the range underlined, and the detail that says what to do.
// Manifest and proto mistakes are both hcl.Diagnostics, so the CLI renders
// every user mistake through here.
package diag

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

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

const (
	red   = "\x1b[1;31m"
	amber = "\x1b[1;33m"
	bold  = "\x1b[1m"
	reset = "\x1b[0m"
)

// MaxShown is how many diagnostics Write renders. A file of junk can hold
// hundreds of thousands of mistakes; the first ones are what a reader acts on,
// and the rest are mostly follow-ups of them, so Write counts the rest in one
// last line ("...and N more errors, not shown; ...") instead of printing
// them.
const MaxShown = 20

// Write renders diags to w, wrapping the detail at width columns (0: 78).
// It shows at most MaxShown of them.
func Write(w io.Writer, diags hcl.Diagnostics, src Sources, width uint, color bool) error {
	if width == 0 || width > 100 {
		width = 78
	}
	var b bytes.Buffer
	for i, d := range diags[:min(len(diags), MaxShown)] {
		if i > 0 {
			b.WriteByte('\n')
		}
		writeOne(&b, d, src, int(width), color)
	}
	if len(diags) > MaxShown {
		b.WriteByte('\n')
		b.WriteString(wrap(notShown(diags[MaxShown:]), int(width)))
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

// notShown says how many diagnostics Write left out, and what to do.
func notShown(rest hcl.Diagnostics) string {
	var parts []string
	errs := len(rest.Errs())
	for _, c := range []struct {
		n    int
		what string
	}{{errs, "error"}, {len(rest) - errs, "warning"}} {
		switch {
		case c.n == 1:
			parts = append(parts, "1 more "+c.what)
		case c.n > 1:
			parts = append(parts, fmt.Sprintf("%d more %ss", c.n, c.what))
		}
	}
	return "...and " + strings.Join(parts, " and ") + ", not shown; fix the ones above first."
}

func writeOne(b *bytes.Buffer, d *hcl.Diagnostic, src Sources, width int, color bool) {
	sev, c := "Error", red
	if d.Severity == hcl.DiagWarning {
		sev, c = "Warning", amber
	}
	if color {
		fmt.Fprintf(b, "%s%s:%s %s%s%s\n", c, sev, reset, bold, d.Summary, reset)
	} else {
		fmt.Fprintf(b, "%s: %s\n", sev, d.Summary)
	}
	if r := d.Subject; r != nil {
		fmt.Fprintf(b, "\n  on %s\n", Position(*r))
		if line, ok := sourceLine(src[r.Filename], r.Start.Line); ok {
			start := r.Start.Column - 1
			end := r.End.Column - 1
			if r.End.Line != r.Start.Line || end > len(line) {
				end = len(line)
			}
			line, start, end = clip(line, start, end)
			prefix := fmt.Sprintf("  %d: ", r.Start.Line)
			fmt.Fprintf(b, "%s%s\n", prefix, line)
			if start >= 0 && start <= len(line) {
				if end <= start {
					end = start + 1
				}
				pad := strings.Repeat(" ", len(prefix)) + leadingWhitespace(line, start)
				fmt.Fprintf(b, "%s%s\n", pad, strings.Repeat("^", end-start))
			}
		}
	}
	if d.Detail != "" {
		b.WriteByte('\n')
		for _, para := range strings.Split(d.Detail, "\n") {
			b.WriteString(wrap(para, width))
			b.WriteByte('\n')
		}
	}
}

// Position renders a range's start as file:line:col.
func Position(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// leadingWhitespace keeps tabs as tabs so that the underline lines up.
func leadingWhitespace(line string, n int) string {
	var sb strings.Builder
	for i := 0; i < n && i < len(line); i++ {
		if line[i] == '\t' {
			sb.WriteByte('\t')
		} else {
			sb.WriteByte(' ')
		}
	}
	return sb.String()
}

// sourceLine returns line n (from 1) of src, without its line ending.
func sourceLine(src []byte, n int) (string, bool) {
	if src == nil || n < 1 {
		return "", false
	}
	for i := 1; i < n; i++ {
		nl := bytes.IndexByte(src, '\n')
		if nl < 0 {
			return "", false
		}
		src = src[nl+1:]
	}
	if nl := bytes.IndexByte(src, '\n'); nl >= 0 {
		src = src[:nl]
	}
	return strings.TrimRight(string(src), "\r"), true
}

// Bounds of a source line as shown: a longer one (minified or junk input) is
// cut to a window around the range, marked with "..." where it was cut.
const (
	maxLineShown = 160 // bytes of a line shown whole
	contextShown = 40  // bytes shown before the range when cutting
)

// clip cuts a long line to a window around [start, end), returning the
// shown text and the range's columns in it.
func clip(line string, start, end int) (string, int, int) {
	if len(line) <= maxLineShown || start < 0 || start > len(line) {
		return line, start, end
	}
	lo := max(0, start-contextShown)
	for lo > 0 && !utf8.RuneStart(line[lo]) {
		lo--
	}
	hi := min(len(line), lo+maxLineShown)
	for hi < len(line) && !utf8.RuneStart(line[hi]) {
		hi--
	}
	shown := line[lo:hi]
	start, end = start-lo, min(end, hi)-lo
	if lo > 0 {
		shown = "..." + shown
		start, end = start+3, end+3
	}
	if hi < len(line) {
		shown += "..."
	}
	return shown, start, end
}

func wrap(s string, width int) string {
	words := strings.Fields(s)
	if len(words) == 0 {
		return ""
	}
	var sb strings.Builder
	col := 0
	for i, w := range words {
		if i > 0 {
			if col+1+len(w) > width {
				sb.WriteByte('\n')
				col = 0
			} else {
				sb.WriteByte(' ')
				col++
			}
		}
		sb.WriteString(w)
		col += len(w)
	}
	return sb.String()
}

// Errorf builds an error diagnostic at rng.
func Errorf(rng hcl.Range, summary, detail string) *hcl.Diagnostic {
	r := rng
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &r}
}
