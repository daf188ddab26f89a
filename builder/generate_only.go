package builder

import (
	"context"
	"io"

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
