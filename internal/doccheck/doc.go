// Package doccheck holds the tests that keep the user docs (README.md and
// docs/*.md) true to the code: their Go examples compile, their links and
// the anchors they name resolve, and the package table of
// docs/ARCHITECTURE.md lists every package. It has no code of its own.
package doccheck
