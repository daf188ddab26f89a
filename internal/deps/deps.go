//go:build deps

// Package deps pins the module's dependencies while the packages that use
// them are written. It is never built.
package deps

import (
	_ "github.com/bufbuild/protocompile"
	_ "github.com/hashicorp/hcl/v2"
	_ "github.com/hashicorp/hcl/v2/hclsyntax"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/spf13/cobra"
	_ "github.com/tetratelabs/wazero"
	_ "github.com/zclconf/go-cty/cty"
	_ "google.golang.org/protobuf/cmd/protoc-gen-go/internal_gengo"
	_ "google.golang.org/protobuf/compiler/protogen"
	_ "golang.org/x/term"
)
