package manifest

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// unclosedHeredocOrComment turns what HCL reports of a heredoc that is
// never ended, or of a /* comment that is never closed, into one error at
// its start, saying so. HCL reports the first as a string that is not
// closed at the end of the file (unclosedString would then advise a
// heredoc to someone writing one), and the second as an invalid
// expression at the "*". The errors before it are kept; those after it
// follow from it.
func unclosedHeredocOrComment(toks hclsyntax.Tokens, diags hcl.Diagnostics) hcl.Diagnostics {
	if !diags.HasErrors() {
		return diags
	}
	var d *hcl.Diagnostic
	var open *hclsyntax.Token
	for i := range toks {
		t := &toks[i]
		switch {
		case t.Type == hclsyntax.TokenOHeredoc && open == nil:
			open = t
		case t.Type == hclsyntax.TokenCHeredoc:
			open = nil
		case t.Type == hclsyntax.TokenStar && i > 0 && toks[i-1].Type == hclsyntax.TokenSlash && toks[i-1].Range.End.Byte == t.Range.Start.Byte && open == nil:
			rng := hcl.RangeBetween(toks[i-1].Range, t.Range)
			d = errAt(rng, "Unclosed comment",
				"This /* comment has no */ to close it. Close it where the comment ends, or start each line of it with # or // instead.")
		}
		if d != nil {
			break
		}
	}
	if d == nil && open != nil {
		marker := strings.TrimSpace(strings.TrimLeft(string(open.Bytes), "<-"))
		rng := open.Range
		rng.End = hcl.Pos{Line: rng.Start.Line, Column: rng.Start.Column + len(strings.TrimRight(string(open.Bytes), "\r\n")), Byte: rng.Start.Byte + len(strings.TrimRight(string(open.Bytes), "\r\n"))}
		d = errAt(rng, "Unclosed heredoc",
			fmt.Sprintf("The heredoc that starts here has no line holding only %s to end it, so the rest of the file became its text. Add a line %s where the text ends.", marker, marker))
	}
	if d == nil {
		return diags
	}
	var kept hcl.Diagnostics
	for _, e := range diags {
		if e.Subject != nil && e.Subject.Start.Byte < d.Subject.Start.Byte {
			kept = append(kept, e)
		}
	}
	return append(kept, d)
}

// hclAdvice is what to do about HCL's own diagnostics that say what is
// wrong but not what parigot.hcl wants instead, by their summary.
var hclAdvice = map[string]string{
	"Function calls not allowed":            "parigot.hcl holds plain values, not expressions: write the value itself, such as \"./books\".",
	"Variables not allowed":                 "parigot.hcl holds plain values: a string is written whole, without ${...}, and a reference such as service.orders goes only where a list of services, stores or topics is asked for.",
	"Argument or block definition required": "Each line is name = value, a block (service \"orders\" { ... }) or its closing }: check for a } too many or a line missing its name =.",
	"Missing newline after argument":        "Each name = value stands on a line of its own, and numbers are written in decimal (16, not 0x10).",
}

// advise adds to HCL's own diagnostics what to do (hclAdvice).
func advise(diags hcl.Diagnostics) {
	for _, d := range diags {
		if a, ok := hclAdvice[d.Summary]; ok && !strings.HasSuffix(d.Detail, a) {
			d.Detail = strings.TrimSpace(d.Detail + " " + a)
		}
	}
}

// unclosedList says, for HCL's "Missing item separator" inside a list
// whose '[' has no ']' before the error, where the list opened and that
// it may just need its ']': HCL asks only for a comma, which would not
// mend `requires = [service.app` followed by a new line.
func unclosedList(toks hclsyntax.Tokens, diags hcl.Diagnostics) {
	for _, d := range diags {
		if d.Summary != "Missing item separator" || d.Subject == nil {
			continue
		}
		var open []hcl.Range
		for _, t := range toks {
			if t.Range.Start.Byte >= d.Subject.Start.Byte {
				break
			}
			switch t.Type {
			case hclsyntax.TokenOBrack:
				open = append(open, t.Range)
			case hclsyntax.TokenCBrack:
				if len(open) > 0 {
					open = open[:len(open)-1]
				}
			}
		}
		if len(open) == 0 {
			continue
		}
		at := open[len(open)-1].Start
		d.Detail = fmt.Sprintf("The list opened at %s:%d:%d has no ']' before this. If it ends there, close it with ']' (`requires = [service.a, service.b]`); if it goes on, separate its items with commas.",
			open[len(open)-1].Filename, at.Line, at.Column)
	}
}
