//go:build unix

package builder

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// wasmGo is a go command whose build writes $FAKE_WASM as the guest, as
// the real one leaves a guest that is up to date as it was (but for its
// modification time).
const wasmGo = `#!/bin/sh
case "$1" in
env) echo go1.99.0 ;;
list) echo false ;;
build)
	while [ $# -gt 1 ]; do
		[ "$1" = -o ] && out=$2
		shift
	done
	printf '%s' "$FAKE_WASM" > "$out"
	;;
esac
`

// helloWithGo makes an app of one program, hello, in a directory of t's,
// and a go command there that runs script; it returns the directory, the
// go command and the app. The compilation cache is the directory's too.
func helloWithGo(t *testing.T, script string) (work, goCmd, app string) {
	t.Helper()
	work = t.TempDir()
	goCmd = filepath.Join(work, "go")
	if err := os.WriteFile(goCmd, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PARIGOT_CACHE_DIR", filepath.Join(work, "cache"))
	app = filepath.Join(work, "app")
	if err := os.MkdirAll(filepath.Join(app, "hello"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"parigot.hcl":   shopHeader + "program \"hello\" {\n  source = \"./hello\"\n}\n",
		"go.mod":        shopGoMod,
		"hello/main.go": "package main\n\nfunc main() {}\n",
	} {
		if err := os.WriteFile(filepath.Join(app, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return work, goCmd, app
}

// A build that leaves a guest's module as it was says that it is up to
// date, not that it compiled it.
func TestAGuestTheBuildLeftAsItWasIsSaidToBeUpToDate(t *testing.T) {
	_, goCmd, app := helloWithGo(t, wasmGo)
	build := func(module string) string {
		t.Helper()
		t.Setenv("FAKE_WASM", module)
		var out bytes.Buffer
		if _, err := Build(t.Context(), Options{Dir: app, Progress: &out, GoCommand: goCmd}); err != nil {
			t.Fatalf("Build: %v\n%s", err, out.String())
		}
		return out.String()
	}
	compiled := regexp.MustCompile(`(?m)^parigot: compiled program hello -> build/hello.wasm \(`)
	upToDate := regexp.MustCompile(`(?m)^parigot: program hello is up to date: build/hello.wasm \(`)
	for i, c := range []struct {
		module string
		want   *regexp.Regexp
	}{
		{"v1", compiled}, // the first build
		{"v1", upToDate},
		{"v2", compiled}, // a change to its source
		{"v2", upToDate},
	} {
		if out := build(c.module); !c.want.MatchString(out) {
			t.Errorf("build %d: want a line matching %s:\n%s", i+1, c.want, out)
		}
	}
}
