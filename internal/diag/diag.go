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
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/text/width"

	"parigot.dev/parigot/internal/graphemes"
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
		if line, start, end, ok := marked(src[r.Filename], *r); ok {
			line, start, end = clip(line, start, end)
			prefix := fmt.Sprintf("  %d: ", r.Start.Line)
			before, mark, after := shown(line[:start]), shown(line[start:end]), shown(line[end:])
			fmt.Fprintf(b, "%s%s%s%s\n", prefix, before, mark, after)
			fmt.Fprintf(b, "%s%s%s\n", strings.Repeat(" ", len(prefix)), padding(before), strings.Repeat("^", max(1, cells(mark))))
		}
	}
	if d.Detail != "" {
		b.WriteByte('\n')
		for _, para := range strings.Split(d.Detail, "\n") {
			if strings.HasPrefix(para, "  ") {
				b.WriteString(para) // an indented line is an example to copy: as it is
			} else {
				b.WriteString(wrap(para, width))
			}
			b.WriteByte('\n')
		}
	}
}

// Position renders a range's start as file:line:col.
func Position(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// marked returns the source line where r starts and the byte offsets in it
// of the part r marks (to the line's end when r goes on). It takes the
// offsets from r's byte positions when they point into that line (HCL and
// parigot's proto diagnostics set them; columns there count characters or
// grapheme clusters, which the line's bytes cannot be indexed by), and
// otherwise counts r's columns as characters.
func marked(src []byte, r hcl.Range) (line string, start, end int, ok bool) {
	line, lineStart, ok := sourceLine(src, r.Start.Line)
	if !ok {
		return "", 0, 0, false
	}
	if (r.Start.Byte > 0 || r.End.Byte > 0) && r.Start.Byte >= lineStart && r.Start.Byte <= lineStart+len(line) {
		start = r.Start.Byte - lineStart
		end = r.End.Byte - lineStart
	} else {
		start = byteAt(line, r.Start.Column-1)
		end = byteAt(line, r.End.Column-1)
	}
	if r.End.Line != r.Start.Line || end > len(line) {
		end = len(line)
	}
	if end < start {
		end = start
	}
	return line, start, end, true
}

// byteAt is the byte offset of character n (from 0) of line, or its length.
func byteAt(line string, n int) int {
	for i := range line {
		if n <= 0 {
			return i
		}
		n--
	}
	return len(line)
}

// shown is s as a terminal should show it: control characters (which could
// move the cursor or change colours) and bytes that are not UTF-8 become
// U+FFFD; tabs stay.
func shown(s string) string {
	return strings.Map(func(r rune) rune {
		if r != '\t' && (unicode.IsControl(r) || r == utf8.RuneError) {
			return utf8.RuneError
		}
		return r
	}, s)
}

// padding is what goes under before so that what follows it lines up:
// a tab under a tab, and blanks as wide as each other character.
func padding(before string) string {
	var sb strings.Builder
	graphemes.Each(before, func(c string) {
		if c == "\t" {
			sb.WriteByte('\t')
			return
		}
		sb.WriteString(strings.Repeat(" ", clusterCells(c)))
	})
	return sb.String()
}

// cells is how many terminal cells s takes.
func cells(s string) int {
	n := 0
	graphemes.Each(s, func(c string) { n += clusterCells(c) })
	return n
}

// clusterCells is how many terminal cells a grapheme cluster takes: as
// many as its widest character, so that an emoji with a skin tone or one
// joined of several (ZWJ) takes the two its first does, not the sum.
func clusterCells(c string) int {
	n := 0
	for _, r := range c {
		n = max(n, runeCells(r))
	}
	return n
}

// runeCells is how many terminal cells r takes: none for a combining mark
// or a format character, two for a wide East Asian character or an emoji.
func runeCells(r rune) int {
	switch {
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// sourceLine returns line n (from 1) of src, without its line ending, and
// the byte offset in src where it starts.
func sourceLine(src []byte, n int) (string, int, bool) {
	if src == nil || n < 1 {
		return "", 0, false
	}
	off := 0
	for i := 1; i < n; i++ {
		nl := bytes.IndexByte(src[off:], '\n')
		if nl < 0 {
			return "", 0, false
		}
		off += nl + 1
	}
	line := src[off:]
	if nl := bytes.IndexByte(line, '\n'); nl >= 0 {
		line = line[:nl]
	}
	return strings.TrimRight(string(line), "\r"), off, true
}

// Bounds of a source line as shown: a longer one (minified or junk input) is
// cut to a window around the range, marked with "..." where it was cut.
const (
	maxLineShown = 160 // bytes of a line shown whole
	contextShown = 40  // bytes shown before the range when cutting
)

// clip cuts a long line to a window around [start, end) (byte offsets),
// returning the shown text and the range's offsets in it.
func clip(line string, start, end int) (string, int, int) {
	if len(line) <= maxLineShown {
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

// NotText checks that src, the file name, is UTF-8 text, as manifests and
// .proto files must be, and returns a diagnostic at the first place it is
// not, or nil. A file saved as UTF-16 (a byte order mark of its own, or
// NUL bytes between its letters) is named as such: parsed as it is, it
// would give an error at nearly every character.
func NotText(name string, src []byte) *hcl.Diagnostic {
	const saveAs = "Save it as UTF-8 (in most editors: the encoding, at the bottom of the window or in Save As) and run the command again."
	utf16 := bytes.HasPrefix(src, []byte{0xff, 0xfe}) || bytes.HasPrefix(src, []byte{0xfe, 0xff})
	off := bytes.IndexByte(src, 0)
	if utf16 {
		off = 0
	}
	if off >= 0 {
		return Errorf(hcl.Range{Filename: name, Start: textPos(src, off), End: textPos(src, off)},
			"File is not UTF-8 text",
			fmt.Sprintf("%s holds NUL bytes: it looks saved as UTF-16, or is not a text file. %s", name, saveAs))
	}
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && size == 1 {
			return Errorf(hcl.Range{Filename: name, Start: textPos(src, i), End: textPos(src, i)},
				"File is not UTF-8 text",
				fmt.Sprintf("The byte 0x%02x at %s:%d:%d is not UTF-8: the file is in another encoding (Latin-1, Windows-1252, ...). %s",
					src[i], name, textPos(src, i).Line, textPos(src, i).Column, saveAs))
		}
		i += size
	}
	return nil
}

// textPos is the position of byte off in src, its column counting
// characters.
func textPos(src []byte, off int) hcl.Pos {
	lineStart := bytes.LastIndexByte(src[:off], '\n') + 1
	return hcl.Pos{Line: 1 + bytes.Count(src[:off], []byte{'\n'}), Column: 1 + utf8.RuneCount(src[lineStart:off]), Byte: off}
}
