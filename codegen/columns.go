package codegen

import "parigot.dev/parigot/internal/graphemes"

// columns is how many columns text takes in a diagnostic's position: one
// per grapheme cluster (a letter and its combining marks are one), as HCL
// counts them in parigot.hcl, so that a column means the same in a
// manifest's diagnostics and a .proto file's.
func columns(text []byte) int { return graphemes.Count(text) }
