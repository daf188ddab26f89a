// Package proto holds the .proto files that parigot ships with itself, such
// as parigot/id/v1/id.proto. The code generator resolves imports of them from
// FS, so an app's .proto files can import them without copying them; their Go
// code lives in parigot (for instance parigot.dev/parigot/proto/parigot/id/v1),
// never in the app.
package proto

import "embed"

// FS holds the shipped .proto files by import path, e.g.
// "parigot/id/v1/id.proto".
//
//go:embed parigot/id/v1/*.proto parigot/errors/v1/*.proto
var FS embed.FS
