// Package apptest runs a parigot app from a native Go test: the topology
// tests of an app, next to the unit tests of its services' plain Go halves.
//
//	func TestGreeting(t *testing.T) {
//		app := apptest.Start(t, "..", apptest.Default) // build if stale, start the services
//		greeting := greetingv1.NewGreetingNativeClient(app)
//		resp, err := greeting.FetchGreeting(t.Context(), &greetingv1.FetchGreetingRequest{Name: "world"})
//		...
//		res := app.RunProgram(t, "hello") // its output and exit code
//	}
//
// Start builds the app with package builder (incremental: a no-op when
// nothing changed, so `go test ./...` works on a fresh clone), starts every
// service of the app in the background, and stops them with t.Cleanup; a
// service that crashed during the test fails it, unless the test said it
// would (ExpectFailure). The app is a guest.Caller, so the typed native
// clients that `parigot build` generates next to the guest stubs
// (<Service>NativeClient, in <file>_parigot_native.pb.go) call its
// services; RunProgram runs one of its programs against the running
// services and returns what it printed and its exit code.
//
// Store and Topic are the test's handles on the app's stores and topics
// (its store and topic blocks): a Store reads and writes a store as the
// app's guests do, to seed it before a call or read what a call wrote; a
// Topic publishes to a topic, whose subscribers then receive the message
// as from a service, and reads what was published to it, in order,
// waiting for the next message until its ctx ends. Both go through the
// host's own engine of stores and topics (package state), in both modes,
// and fail with the *guest.Error a guest's operation would get.
//
// A service that fails during a subtest fails the test given to Start,
// at its end, at the line that called Start: nothing in a native call
// says which subtest made it, so give a test of a failure an app of its
// own (ExpectFailure).
//
// The two modes are those of `parigot run`, in one test process:
//
//   - Single: every service in one host (package host), calls between them
//     in memory. Native calls and programs reach the services in memory too,
//     through the endpoints the host hands its Remote.
//   - Split: an embedded NATS server on loopback, and each service (each
//     replica) in a host of its own connected to it exactly as a
//     `parigot run --mode=split` child is (split.RunChild), only in this
//     process instead of a child process. Native calls, programs and
//     gateways call the services as a child does: over the direct
//     connections they make once the services are ready, NATS otherwise.
//
// Default is the mode `parigot test` asks for in the environment
// (PARIGOT_TEST_MODE: single or split; `--mode=both` runs the tests once in
// each), and single when the variable is unset, as under a plain `go test`.
// A test that asks for Single or Split explicitly is skipped in a pass of
// the other mode, so that `parigot test --mode=both` runs it once.
//
// This package is for tests. It is not a way to embed an app in a
// production program: use `parigot run`.
package apptest
