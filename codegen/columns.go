package codegen

// columns is how many columns text takes in a diagnostic's position: one
// per grapheme cluster (a letter and its combining marks are one), as HCL
// counts them in parigot.hcl, so that a column means the same in a
// manifest's diagnostics and a .proto file's. scanGraphemeClusters is the
// segmenter of the Unicode version HCL uses with this Go release
// (columns_go126.go, columns_go127.go).
func columns(text []byte) int {
	n := 0
	for len(text) > 0 {
		advance, _, err := scanGraphemeClusters(text, true)
		if err != nil || advance <= 0 {
			return n + len(text) // not reached: the segmenter takes any bytes
		}
		text = text[advance:]
		n++
	}
	return n
}
