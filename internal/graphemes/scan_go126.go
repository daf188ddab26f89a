//go:build !go1.27

package graphemes

import "github.com/apparentlymart/go-textseg/v15/textseg"

// scan is Unicode 15's segmenter, which HCL uses before Go 1.27.
var scan = textseg.ScanGraphemeClusters
