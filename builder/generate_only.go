package builder

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Generate reads the manifest in dir and writes the Go code generated from its
// protos, as Build does first, without compiling any guest. parigot init uses
// it so that a new app's `go test ./...` works before its first build.
// Progress goes to w, one line, unless w is nil.
func Generate(ctx context.Context, dir string, w io.Writer) error {
	p := &progress{w: w}
	app, err := Load(dir)
	if err != nil {
		return err
	}
	unlock, err := lockApp(app.Dir)
	if err != nil {
		return fmt.Errorf("locking the app for code generation: %w", err)
	}
	defer unlock()
	start := time.Now()
	gen, err := generate(ctx, app, dir)
	if err != nil {
		return err
	}
	p.step(start, "generated Go code: %d files, %d changed", len(gen.Files), len(gen.Written))
	return nil
}
