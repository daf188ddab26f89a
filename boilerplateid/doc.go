// Package boilerplateid generates typed Id types: Go types such as OrderId or
// HostId that hold two uint64s, 16 bits of type tag and 112 random bits, with
// a canonical string form ("o-" and 28 lowercase hex digits), parsing that
// refuses another type's string, conversion to and from the protobuf message
// parigot.id.v1.Id, and JSON and text marshalling.
//
// parigot build calls Generate for every id block of parigot.hcl, and
// parigot id calls it for one type; it is usable on its own as well:
//
//	src, err := boilerplateid.Generate(boilerplateid.Spec{Name: "Order", Letter: "o", Package: "ids"})
//
// The generated code imports two packages: parigot.dev/parigot/proto/parigot/id/v1
// (the Go package of the shipped id.proto) and
// parigot.dev/parigot/boilerplateid/idcore, which holds the logic every Id
// type shares; each generated function is one call into it. docs/IDS.md
// describes the generated API.
//
// This package is not a runtime library: the Ids live in the generated code
// and idcore.
package boilerplateid
