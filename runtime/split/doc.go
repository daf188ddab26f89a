// Package split runs a parigot app with one OS process per guest, connected
// through NATS: the same compiled guests as single mode, the same host in
// each process (package host), with the calls between processes carried as
// NATS messages.
//
// A supervisor (the parent, `parigot run --mode=split`) starts an embedded
// NATS server bound to loopback with a random credential, or joins one given
// by URL, then starts one child process per guest (per replica of a service)
// and prefixes their output, propagates the program's exit code, and stops
// everything when the programs end, on SIGINT/SIGTERM, or reports a child
// that dies. A child (`parigot guest`) hosts one guest: it waits until the
// services its guest requires are ready, then runs it with a Network as the
// host's Remote.
//
// The supervisor and each child share a link (see Link): two inherited
// pipes that carry the child's credentials down and its reports (ready, and
// how its run ended, as host values) up, and whose end tells the child its
// supervisor is gone.
//
// Subjects, for an app named A:
//
//	parigot.A.call.<proto service>      calls; queue group = the serving guest's name
//	parigot.A.ready.<guest>             answered by every ready replica of a service
//	parigot.A.reply.<caller>.<nuid>.<callee guest>.<call id>   replies
package split
