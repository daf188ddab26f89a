package manifest

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// maxNesting is how deeply brackets, parentheses, braces, strings and
// their interpolations may nest in a manifest. A real one needs a few
// levels; HCL's parser recurses once a level, and a file of nothing but
// opening brackets (a few hundred kilobytes) would overflow the stack of
// the goroutine parsing it, which ends the process.
const maxNesting = 256

// tooDeep reports the first opening of the manifest's tokens (HCL's lexer
// does not recurse) that nests deeper than maxNesting, or nil.
func tooDeep(toks hclsyntax.Tokens) *hcl.Diagnostic {
	depth := 0
	for _, t := range toks {
		switch t.Type {
		case hclsyntax.TokenOParen, hclsyntax.TokenOBrack, hclsyntax.TokenOBrace,
			hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			depth++
			if depth > maxNesting {
				return errAt(t.Range, "Nesting too deep",
					fmt.Sprintf("This opens level %d of brackets, braces, parentheses and strings; parigot reads a manifest nested up to %d levels, and a manifest needs a few. Check that %s is the app's manifest, and that each bracket is closed where its value ends.",
						depth, maxNesting, FileName))
			}
		case hclsyntax.TokenCParen, hclsyntax.TokenCBrack, hclsyntax.TokenCBrace,
			hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			depth = max(0, depth-1)
		}
	}
	return nil
}
