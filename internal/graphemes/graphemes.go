// Package graphemes splits text into grapheme clusters (what a reader
// takes for one character: a letter and its combining marks, an emoji and
// its modifiers) with the Unicode version HCL uses with the running Go
// release, so that parigot counts columns and cells as HCL does in
// parigot.hcl: textseg v15 before Go 1.27, v17 from it (scan_go126.go,
// scan_go127.go).
package graphemes

// Each calls f with each grapheme cluster of text, in order.
func Each(text string, f func(cluster string)) {
	b := []byte(text)
	for len(b) > 0 {
		advance, _, err := scan(b, true)
		if err != nil || advance <= 0 {
			advance = len(b) // not reached: the segmenter takes any bytes
		}
		f(string(b[:advance]))
		b = b[advance:]
	}
}

// Count is how many grapheme clusters text holds.
func Count(text []byte) int {
	n := 0
	for len(text) > 0 {
		advance, _, err := scan(text, true)
		if err != nil || advance <= 0 {
			return n + len(text) // not reached: the segmenter takes any bytes
		}
		text = text[advance:]
		n++
	}
	return n
}
