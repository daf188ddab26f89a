package manifest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Digest is a SHA-256, in hex, of what the manifest src says: its HCL
// tokens, each with its kind and text, without its comments and its
// layout (spaces, tabs, line breaks, a comma that ends a list). An edit of a comment or of the
// indentation keeps the digest; any edit of a value, a name, a block or
// an attribute changes it, whatever reads that value, since every token
// the parser reads is in the digest.
//
// Line breaks are left out although HCL's grammar has them end an
// attribute: in a body, the item after an attribute starts with a name,
// and no expression goes on with a name, so a manifest's items are where
// they are without them. A heredoc's lines are tokens of their own and
// are kept as written, indentation included.
//
// The digest depends on HCL's tokens alone, not on what this package
// decodes: parigots that decode a manifest differently give it one digest.
func Digest(filename string, src []byte) string {
	all, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	var toks hclsyntax.Tokens // what the parser reads
	for _, t := range all {
		switch t.Type {
		case hclsyntax.TokenComment, hclsyntax.TokenNewline, hclsyntax.TokenTabs, hclsyntax.TokenEOF:
			continue
		case hclsyntax.TokenCBrack, hclsyntax.TokenCBrace, hclsyntax.TokenCParen:
			if n := len(toks); n > 0 && toks[n-1].Type == hclsyntax.TokenComma {
				toks = toks[:n-1] // a trailing comma: [a, b,] is [a, b]
			}
		}
		toks = append(toks, t)
	}
	h := sha256.New()
	var buf []byte
	for _, t := range toks {
		// Each token's kind and length before its text: two token lists
		// never write the same bytes.
		buf = binary.AppendUvarint(buf[:0], uint64(t.Type))
		buf = binary.AppendUvarint(buf, uint64(len(t.Bytes)))
		h.Write(buf)
		h.Write(t.Bytes)
	}
	return hex.EncodeToString(h.Sum(nil))
}
