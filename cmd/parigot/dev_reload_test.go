package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parigot.dev/parigot/runtime/host"
)

// A reload that Ctrl-C cuts short, in its build or while the new version
// is compiled to native code, is no failure: parigot dev says nothing of
// it (the CLI says it was interrupted). A reload that fails by itself is
// said.
func TestAReloadCutShortByCtrlCIsNoFailure(t *testing.T) {
	t.Run("the build is interrupted", func(t *testing.T) {
		var out bytes.Buffer
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		dir := t.TempDir()
		d := &devSession{dir: dir, appDir: dir, stderr: &out, own: &out}
		d.reload(ctx)
		if out.Len() > 0 {
			t.Errorf("an interrupted build said:\n%s", out.String())
		}
	})
	for _, interrupted := range []bool{true, false} {
		name := map[bool]string{true: "the swap is interrupted", false: "the swap fails"}[interrupted]
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			ctx, cancel := context.WithCancelCause(t.Context())
			defer cancel(nil)
			d := &devSession{stderr: &out, own: &out, reloads: make(chan host.Reload), ended: make(chan error, 1)}
			go func() { // the running app, as the host answers a reload whose compile ctx ended
				rl := <-d.reloads
				if interrupted {
					cancel(errors.New("interrupt signal received"))
				}
				rl.Done <- fmt.Errorf("service shop: compiling /app/build/shop.wasm: %w", context.Cause(ctx))
			}()
			if d.swap(ctx, host.Reload{Wasm: map[string]string{"shop": "/app/build/shop.wasm"}}) {
				t.Fatal("the swap took")
			}
			said := out.String()
			if interrupted && said != "" {
				t.Errorf("a swap cut short by Ctrl-C said:\n%s", said)
			}
			if !interrupted && !strings.Contains(said, "parigot dev: reloading shop: service shop: compiling /app/build/shop.wasm") {
				t.Errorf("a swap that failed said:\n%s", said)
			}
		})
	}
}

// A change the watcher reports after a build, for a file that build read
// as it still is, is no save: nothing is built, nothing said, and no
// service that went down starts again. A save after the build, of the same
// content, is one.
func TestDevDropsAChangeTheLastBuildRead(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "main.go")
	if err := os.WriteFile(file, []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	d := &devSession{dir: dir, appDir: dir, stderr: &out, own: &out, running: true}
	d.build(t.Context()) // no parigot.hcl: it fails, after reading main.go
	out.Reset()

	d.changed(t.Context(), []string{"main.go"})
	if out.Len() > 0 {
		t.Errorf("a late report of what the last build read was built again:\n%s", out.String())
	}

	later := time.Now().Add(time.Second)
	if err := os.Chtimes(file, later, later); err != nil { // saved again, as it was
		t.Fatal(err)
	}
	d.changed(t.Context(), []string{"main.go"})
	if !strings.Contains(out.String(), "parigot dev: the app runs on as it was; save a fix to try again") {
		t.Errorf("a save after the build, of what the file held, was not built:\n%s", out.String())
	}
}
