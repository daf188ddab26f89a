//go:build go1.27

package graphemes

import "github.com/apparentlymart/go-textseg/v17/textseg"

// scan is Unicode 17's segmenter, which HCL uses from Go 1.27.
var scan = textseg.ScanGraphemeClusters
