// Package layering keeps the package dependencies pointing one way (see its test).
package layering
