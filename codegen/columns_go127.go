//go:build go1.27

package codegen

import "github.com/apparentlymart/go-textseg/v17/textseg"

// scanGraphemeClusters is Unicode 17's, which HCL uses from Go 1.27.
var scanGraphemeClusters = textseg.ScanGraphemeClusters
