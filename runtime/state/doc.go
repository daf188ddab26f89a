// Package state is the engine behind an app's stores and topics (the store
// and topic blocks of parigot.hcl): NATS JetStream, with a key-value bucket
// per store and a stream per topic.
//
// A run that declares a store or topic opens an Engine on a NATS connection:
// in single mode one to the embedded server StartServer starts in the same
// process (JetStream's files under the app's data directory), in split mode
// each child's own connection to the supervisor's server, or to an
// operator's cluster with --nats. The host hands a guest that opens a store
// or topic the Engine's endpoint for it (Endpoint), and dispatches the
// guest's operations to it like calls: so each is a future on the guest's
// side, with the caller's deadline. Subscriptions deliver a topic's messages
// to a service's endpoint as calls (Subscribe).
//
// From outside any guest, an Inspector reads the stores and topics and
// redelivers dead letters (parigot state): on a data directory no run
// holds, or through the server of the run that does, which says how to
// reach it in the directory (Live). A TopicReader reads a topic's
// messages in order, for a topology test's topic handle (package apptest),
// whose store handles use the Engine's endpoints as a guest does.
//
// It is not the guest API: guests use runtime/guest's Store and Topic.
package state
