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

// unclosedBlockDiag turns the parser's "unexpected end of file", when a
// '{' of the file is never closed, into an error at that '{': the end of
// the file is where the parser noticed, not where the '}' is missing. It
// names the block by the start of its line (`message GreetRequest`).
// Nil when every '{' is closed (a statement cut short at the end, say).
func (c *compilation) unclosedBlockDiag(msg string, rng hcl.Range) *hcl.Diagnostic {
	if !strings.Contains(msg, "unexpected end of file") {
		return nil
	}
	src := c.sources[rng.Filename]
	open := unclosedBrace(src)
	if open < 0 {
		return nil
	}
	lineStart := bytes.LastIndexByte(src[:open], '\n') + 1
	block := strings.TrimSpace(string(src[lineStart:open]))
	what := "the block"
	if block != "" {
		what = "`" + block + "`"
	}
	at := hcl.Range{Filename: rng.Filename, Start: posAt(src, open), End: posAt(src, open+1)}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unclosed block",
		Detail: fmt.Sprintf("The '{' of %s on line %d has no '}': the file ends inside it. "+
			"Add the '}' where the block ends (often it is missing just before the next message, enum or service).", what, at.Start.Line),
		Subject: &at,
	}
}

// unclosedBrace is the offset of the innermost '{' of src left open at
// its end, outside comments and strings; -1 when none is.
func unclosedBrace(src []byte) int {
	var open []int
	for i := 0; i < len(src); i++ {
		switch ch := src[i]; {
		case ch == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case ch == '/' && i+1 < len(src) && src[i+1] == '*':
			end := bytes.Index(src[i+2:], []byte("*/"))
			if end < 0 {
				return -1 // the lexer reports an unclosed comment
			}
			i += 2 + end + 1
		case ch == '"' || ch == '\'':
			for i++; i < len(src) && src[i] != ch && src[i] != '\n'; i++ {
				if src[i] == '\\' {
					i++
				}
			}
		case ch == '{':
			open = append(open, i)
		case ch == '}':
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
		}
	}
	if len(open) == 0 {
		return -1
	}
	return open[len(open)-1]
}
