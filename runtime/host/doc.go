// Package host runs parigot guests in one process: it loads each guest's wasm
// into wazero (compiler backend, on-disk compilation cache), gives each guest
// its own goroutine, routes calls between guests in memory, and supervises
// them: start in requires order, deadlines, exit codes, crashes.
//
// Every host function validates what a guest hands it; a malformed request is
// a status returned to that guest, never a panic in the host. A guest that
// panics or traps is reported by name and its callers' calls fail with
// "unavailable"; the rest of the app keeps running until its programs end.
//
// The package does not build guests: callers describe the topology with a
// Config, usually from a manifest with GuestsFromManifest.
package host
