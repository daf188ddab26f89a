package templates

import "embed"

// Init holds the app that parigot init writes, under the directory "init":
// one template per file of the new app, at the file's path plus ".tmpl".
// Path elements _pkg_, _service_ and _program_ stand for the proto package,
// the service and the program of the new app. Every template executes with
// the same data (see cmd/parigot's scaffold).
//
//go:embed all:init
var Init embed.FS

// InitRoot is the directory of Init that holds the app's templates.
const InitRoot = "init"
