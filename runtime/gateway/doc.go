// Package gateway is the way into a parigot app from outside it: one TCP
// address where gRPC, gRPC-Web, Connect and REST clients call the services
// a gateway block of parigot.hcl lists.
//
// It is built on the libraries made for this: connectrpc.com/vanguard
// transcodes among REST (from google.api.http annotations), Connect (JSON
// and binary), gRPC and gRPC-Web, into Connect or gRPC calls with binary
// protobuf bodies; connect-go's handler of each method hands those bytes,
// as they are, to the service through the host (single mode) or NATS
// (split mode), as a native caller (runtime/internal/native). The methods
// come from the app's compiled descriptors (build/descriptors.binpb), so no
// Go code of the app is compiled into the host. grpcreflect and grpchealth
// answer reflection and health checks, for the gateway's services only.
//
// gRPC clients are served by grpc-go's server instead, over its own HTTP/2
// transport, which is faster than net/http's: cmux hands it the cleartext
// HTTP/2 connections whose first request is gRPC with protobuf (sniff.go),
// and it answers them as the connect-go handlers do, through the same call
// path (backend.call), reflection and health (grpc.go).
//
// RunSingle runs an app with its gateways in one process; ServeSplit is what
// the split-mode supervisor runs beside its children. Neither is for
// guests.
package gateway
