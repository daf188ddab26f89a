// Package doccheck holds the tests that keep the user docs (README.md and
// docs/*.md) true to the code: their Go examples compile, and their links
// and the anchors they name resolve. It has no code of its own.
package doccheck
