package builder

import (
	"context"
	"errors"
	"io"

	"github.com/hashicorp/hcl/v2"
	"google.golang.org/protobuf/types/descriptorpb"

	"parigot.dev/parigot/codegen"
	"parigot.dev/parigot/internal/progress"
	"parigot.dev/parigot/manifest"
)

// Generate reads the manifest in dir and writes the Go code generated from
// its protos and Id types, as Build does first, without compiling any guest.
// It needs no guest's source: a guest whose source directory is missing or
// holds no main package yet gets a note on w, not an error, so that a new
// service's code can be generated before its first line is written (parigot
// generate). parigot init uses it so that a new app's `go test ./...` works
// before its first build. Progress goes to w unless w is nil.
func Generate(ctx context.Context, dir string, w io.Writer) error {
	p := progress.New(w, false)
	app, err := loadForCode(dir, p)
	if err != nil {
		return err
	}
	_, unlock, err := lockAndGenerate(ctx, app, dir, p)
	if err != nil {
		return err
	}
	unlock()
	return nil
}

// LoadDeclared reads the manifest in dir for what it declares, for the
// commands that build nothing (parigot check, graph, nats-config): like
// Generate, it reads no guest's source, and says nothing of a guest whose
// source is missing, so that they work on an app whose new service has no
// code yet.
func LoadDeclared(dir string) (*manifest.App, error) {
	return loadForCode(dir, progress.New(nil, false))
}

// Vet checks app, loaded from dir, against its protos as a build does
// before it writes anything (parigot check): the protos compile, each
// implements entry names a proto service they define, each subscription
// a unary method of it, each store's value a message they define, each
// google.api.http rule maps as the gateway maps it. It writes and removes nothing. protosOK reports whether the
// protos themselves are without error: the errors are then the app's use
// of them, which no tool that reads only the protos (buf) reports. The
// app's go.mod is checked too (manifest.App.CheckGoModule), its errors
// told with the protos' own.
func Vet(ctx context.Context, app *manifest.App, dir string) (protosOK bool, err error) {
	modDiags := app.CheckGoModule()
	defer func() {
		if !modDiags.HasErrors() {
			return
		}
		var d *DiagnosticsError
		switch {
		case err == nil:
			err = &DiagnosticsError{Diags: modDiags, Sources: app.Sources}
		case errors.As(err, &d):
			d.Diags = append(modDiags, d.Diags...)
			d.Sources.Merge(app.Sources)
		}
	}()
	in, err := codegenInput(app, dir)
	if err != nil {
		return false, err
	}
	in.NoWrite = true
	check := in.Check
	in.Check = func(services map[string]*codegen.Service, messages map[string]bool) hcl.Diagnostics {
		protosOK = true
		return check(services, messages)
	}
	_, err = compileProtos(ctx, app, in)
	return protosOK, err
}

// Descriptors compiles the protos of app, loaded from dir, in-process as a
// build does, and returns their descriptors and those of every file they
// import (the well-known types included), dependencies first. It writes
// and removes nothing, needs no build of the app and no guest's source,
// and checks the protos alone, not the app's use of them: what parigot
// state reads stored messages with, on any machine with the app's
// sources. An app without protos has an empty set. Errors in the protos
// are a *DiagnosticsError.
func Descriptors(ctx context.Context, app *manifest.App, dir string) (*descriptorpb.FileDescriptorSet, error) {
	in, err := codegenInput(app, dir)
	if err != nil {
		return nil, err
	}
	in.NoWrite = true
	in.Check = nil
	gen, err := compileProtos(ctx, app, in)
	if err != nil {
		return nil, err
	}
	if gen.Descriptors == nil {
		return &descriptorpb.FileDescriptorSet{}, nil
	}
	return gen.Descriptors, nil
}
