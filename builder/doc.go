// Package builder is parigot's build pipeline: it loads parigot.hcl, generates
// Go code from the app's protos, checks what the manifest says against what
// the protos define, and compiles every guest with GOOS=wasip1 GOARCH=wasm
// into the app's build/ directory, in parallel and incrementally.
//
// It reports progress as one line per step with its duration, and its errors
// are either diagnostics (a mistake in parigot.hcl or a .proto, rendered with
// file:line:col and the source line) or Go compiler output with app-relative
// paths. It is not a runner: see package host.
package builder
