// Package split runs a parigot app with one OS process per guest, connected
// through NATS: the same compiled guests as single mode, the same host in
// each process (package host), with the calls between processes carried as
// NATS messages.
//
// A supervisor (the parent, `parigot run --mode=split`) starts an embedded
// NATS server bound to loopback, or joins one given by URL, then starts one
// child process per guest (per replica of a service) and prefixes their
// output, propagates the program's exit code, and stops everything when the
// programs end, on SIGINT/SIGTERM, or reports a child that dies. A child
// (`parigot guest`) hosts one guest: it waits until the services its guest
// requires are ready, then runs it with a Network as the host's Remote. The
// supervisor and each child talk over a Link (two inherited pipes); the
// supervisor itself never connects to NATS.
//
// Calls between processes on one machine do not pass through the NATS
// server: each serving child listens on a Unix-domain socket, and a caller
// that may call the service (it may publish on the service's call subject)
// asks a replica for an offer there, then dials it and sends its calls and
// reads their replies as length-prefixed frames (direct.go, frame.go),
// taking the replicas it knows in turn. NATS carries readiness, the
// offers, the queue groups across machines, and every call for which no
// direct connection is known or can be made. Options.NATSOnly turns the
// direct path off. With Options.DirectHost, an address of the machine,
// serving children also listen on TCP there, and callers on other
// machines connect to them the same way, over TLS 1.3 with the
// certificate each offer pins (tls.go).
//
// Each guest is its own NATS user (an nkey), allowed only what its manifest
// entry needs: a service subscribes to its own call subjects in its own
// queue group and answers only the requests it received; a guest publishes
// calls only to the services its requires lists; each reads only its own
// replies and inbox. The embedded server makes the keys for the run and the
// supervisor hands each child its seed over its link. For a server an
// operator runs, AuthorizationConfig prints the same users for its
// configuration, MakeSeeds makes their seeds, and Options.Seeds has the
// supervisor read them (ReadSeeds). A permission the server refuses ends the
// child with a PermissionError that says what to configure.
//
// The supervisor and each child share a link (see Link): two inherited
// pipes that carry the child's credentials down and its reports (ready, and
// how its run ended, as host values) up, and whose end tells the child its
// supervisor is gone.
//
// Subjects, for an app named A:
//
//	parigot.A.call.<proto service>      calls, and requests for an offer of a direct connection
//	                                    (header Parigot-Direct); queue group = the serving guest's name
//	parigot.A.ready.<guest>             answered by every ready replica of a service
//	parigot.A.reply.<caller>.<nuid>.<callee guest>.<call id>   replies (a nuid per caller and callee)
//	parigot.A.inbox.<guest>.>           a connection's inbox: answers to its readiness requests,
//	                                    and offers (inbox.<guest>.direct.<callee guest>.<nuid>)
package split
