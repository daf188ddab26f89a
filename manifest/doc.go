// Package manifest reads parigot.hcl, the file that describes a parigot app:
// its Go module, the proto files it compiles, the typed Id declarations, and
// the guests (services and programs) that make it up.
//
// [Load] and [Parse] decode the HCL into an [App] and validate everything that
// can be checked from the manifest and the app directory alone: block and
// attribute names and types, guest, proto and Id names (and their duplicates),
// service references in requires (undeclared services, programs, self
// references, cycles), names fit for file names and NATS subjects, durations,
// counts and sizes within their ranges, paths that stay inside the app
// directory, that each source is a directory holding a Go main package, and
// that proto files exist under their import root. Every problem is an
// *hcl.Diagnostic whose Subject points at the offending text and whose Detail
// says what to do; render them with parigot.dev/parigot/internal/diag using
// [App.Sources].
//
// Whether the proto services named in implements exist is only known after
// the proto files are compiled, which this package does not do: the caller
// compiles them (see package codegen) and then calls [App.CheckImplements].
//
// [Digest] says what a manifest says, without its comments and layout: a
// build records it, and a run of that build elsewhere compares it.
//
// This package does not build, generate code or run anything, and it never
// writes files. [App.StartOrder] gives the order in which guests are started;
// acting on it is the runtime's job.
package manifest
