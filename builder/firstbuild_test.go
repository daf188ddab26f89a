//go:build unix

package builder

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGo is a go command that answers go env, "builds" a guest by
// writing an empty file and noting in its build cache (FAKE_GOCACHE) that
// the standard library is compiled, logging when each build starts and
// ends, and answers go list's question of whether fmt is stale from that
// note.
const fakeGo = `#!/bin/sh
case "$1" in
env)
	shift
	for v in "$@"; do
		case "$v" in
		GOVERSION) echo go1.99.0 ;;
		GOCACHE) echo "$FAKE_GOCACHE" ;;
		esac
	done
	;;
list)
	if [ -f "$FAKE_GOCACHE/std" ]; then echo false; else echo true; fi
	;;
build)
	while [ $# -gt 1 ]; do
		[ "$1" = -o ] && out=$2
		shift
	done
	echo start >> "$FAKE_LOG"
	sleep 0.2
	echo end >> "$FAKE_LOG"
	mkdir -p "$FAKE_GOCACHE" && : > "$FAKE_GOCACHE/std"
	: > "$out"
	;;
esac
`

func TestTheFirstBuildOfGuestsSaysItTakesMinutesAndBuildsThemOneAtATime(t *testing.T) {
	work := t.TempDir()
	goCmd := filepath.Join(work, "go")
	if err := os.WriteFile(goCmd, []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(work, "log")
	t.Setenv("FAKE_LOG", log)
	t.Setenv("FAKE_GOCACHE", filepath.Join(work, "gocache"))
	t.Setenv("PARIGOT_CACHE_DIR", filepath.Join(work, "cache"))
	app := filepath.Join(work, "app")
	hcl := shopHeader
	for _, name := range []string{"one", "two", "three"} {
		hcl += "program \"" + name + "\" {\n  source = \"./" + name + "\"\n}\n"
		if err := os.MkdirAll(filepath.Join(app, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(app, name, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(app, "parigot.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "go.mod"), []byte(shopGoMod), 0o644); err != nil {
		t.Fatal(err)
	}
	build := func() string {
		t.Helper()
		var out bytes.Buffer
		if _, err := Build(t.Context(), Options{Dir: app, Progress: &out, Jobs: 3, GoCommand: goCmd}); err != nil {
			t.Fatalf("Build: %v\n%s", err, out.String())
		}
		return out.String()
	}
	const notice = "parigot: first build of guests with go1.99.0 on this machine: the go command compiles the Go standard library and the app's dependencies for wasip1 once, which can take a minute"

	out := build()
	if !strings.Contains(out, notice) {
		t.Errorf("the first build does not say what it costs:\n%s", out)
	}
	b, _ := os.ReadFile(log)
	if got := strings.Fields(string(b)); strings.Join(got, " ") != "start end start end start end" {
		t.Errorf("the first build ran guests' builds side by side (%v), each compiling the standard library", got)
	}

	if out := build(); strings.Contains(out, "first build") {
		t.Errorf("the second build says it is the first:\n%s", out)
	}
	// A CI job that restores the Go build cache, and not parigot's own.
	t.Setenv("PARIGOT_CACHE_DIR", filepath.Join(work, "fresh-cache"))
	if out := build(); strings.Contains(out, "first build") {
		t.Errorf("a build with the Go build cache of an earlier one, and a new parigot cache, says it is the first:\n%s", out)
	}
	t.Setenv("FAKE_GOCACHE", filepath.Join(work, "another-gocache"))
	if out := build(); !strings.Contains(out, "first build") {
		t.Errorf("the first build with another Go build cache does not say what it costs:\n%s", out)
	}
}
