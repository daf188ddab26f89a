package builder

import (
	"context"
	"io"
)

// Generate reads the manifest in dir and writes the Go code generated from its
// protos, as Build does first, without compiling any guest. parigot init uses
// it so that a new app's `go test ./...` works before its first build.
// Progress goes to w, one line, unless w is nil.
func Generate(ctx context.Context, dir string, w io.Writer) error {
	_, unlock, err := loadAndGenerate(ctx, dir, &progress{w: w})
	if err != nil {
		return err
	}
	unlock()
	return nil
}
