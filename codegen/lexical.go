package codegen

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/bufbuild/protocompile/reporter"
	"github.com/hashicorp/hcl/v2"
)

// compilerMessage is the text of a compiler error, without its position.
func compilerMessage(e reporter.ErrorWithPos) string {
	if u := e.Unwrap(); u != nil {
		return u.Error()
	}
	return e.Error()
}

// lexicalEcho reports whether msg is the parser's echo of a lexical error:
// the lexer reports what it could not read (an unclosed string, a bad
// escape, a stray character) and hands the parser an error token, which
// the parser then calls unexpected.
func lexicalEcho(msg string) bool {
	return strings.HasPrefix(msg, "syntax error: unexpected error")
}

// dropFollowOns removes the errors that follow from a lexical error, so
// that one mistake is one diagnostic: the parser's echo of it, and the
// syntax errors after the echo on its line. It also drops an unclosed
// string whose line has an error before it: that error is the mistake
// (a value missing its opening quote, whose closing one then opened a
// string), as in parigot.hcl. errs are sorted by file and offset.
func dropFollowOns(errs []reporter.ErrorWithPos) []reporter.ErrorWithPos {
	type line struct {
		file string
		n    int
	}
	echoAt := map[line]int{} // the offset of a line's first echo
	for _, e := range errs {
		if p := e.GetPosition(); lexicalEcho(compilerMessage(e)) {
			if off, ok := echoAt[line{p.Filename, p.Line}]; !ok || p.Offset < off {
				echoAt[line{p.Filename, p.Line}] = p.Offset
			}
		}
	}
	var kept []reporter.ErrorWithPos
	keptOn := map[line]bool{}
	for _, e := range errs {
		p, msg := e.GetPosition(), compilerMessage(e)
		l := line{p.Filename, p.Line}
		echo, hasEcho := echoAt[l]
		switch {
		case lexicalEcho(msg):
			continue
		case hasEcho && strings.HasPrefix(msg, "syntax error") && p.Offset >= echo:
			continue
		case strings.HasPrefix(msg, endOfLineInString) && keptOn[l]:
			continue
		}
		kept = append(kept, e)
		keptOn[l] = true
	}
	return kept
}

// endOfLineInString starts the lexer's error for a string that its line
// ends in.
const endOfLineInString = "encountered end-of-line before end of string literal"

// unclosedStringDiag is the diagnostic for a string without its closing
// quote, from the lexer's error at its opening quote, or nil when e is
// not that error. It marks the string, from the quote to the end of its
// line, and says to close it, as parigot.hcl's diagnostic does.
func (c *compilation) unclosedStringDiag(root string, e reporter.ErrorWithPos) *hcl.Diagnostic {
	p, msg := e.GetPosition(), compilerMessage(e)
	name := c.display(root, p.Filename)
	src := c.sources[name]
	if p.Offset < 0 || p.Offset >= len(src) || src[p.Offset] != '"' && src[p.Offset] != '\'' {
		return nil
	}
	// At the end of the file the lexer says only "unexpected EOF".
	if !strings.HasPrefix(msg, endOfLineInString) && !(msg == "unexpected EOF" && bytes.IndexByte(src[p.Offset:], '\n') < 0) {
		return nil
	}
	end := len(src)
	if nl := bytes.IndexByte(src[p.Offset:], '\n'); nl >= 0 {
		end = p.Offset + nl
	}
	for end > p.Offset+1 && (src[end-1] == '\r' || src[end-1] == ' ' || src[end-1] == '\t') {
		end--
	}
	quote := string(src[p.Offset])
	rng := hcl.Range{Filename: name, Start: posAt(src, p.Offset), End: posAt(src, end)}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unclosed string",
		Detail: fmt.Sprintf("A string on line %d has no closing quote, and a string cannot go on past its line. "+
			"Add the closing %s where the value ends (before the ';' that ends the statement, if there is one). "+
			"If no string was meant here (a package name, for one, is not quoted), remove the opening %s instead.",
			rng.Start.Line, quote, quote),
		Subject: &rng,
	}
}
