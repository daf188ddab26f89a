//go:build !go1.27

package codegen

import "github.com/apparentlymart/go-textseg/v15/textseg"

// scanGraphemeClusters is Unicode 15's, which HCL uses before Go 1.27.
var scanGraphemeClusters = textseg.ScanGraphemeClusters
