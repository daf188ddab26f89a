//go:build unix

package builder

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// leavingGo is a go command whose build leaves a work directory in
// $GOTMPDIR, as go build does when SIGINT ends it, says where, and fails.
const leavingGo = `#!/bin/sh
case "$1" in
env) echo go1.99.0 ;;
list) echo false ;;
build)
	mkdir -p "$GOTMPDIR/go-build123/b001" && echo "$GOTMPDIR" > "$FAKE_SAID" && exit 2
	;;
esac
`

// The go command's work directories of a build, which go build leaves
// behind when it is interrupted, are in a directory of the build's own,
// removed as the build returns; a GOTMPDIR the user set is kept.
func TestTheGoCommandsWorkDirectoriesGoWithTheBuild(t *testing.T) {
	work, goCmd, app := helloWithGo(t, leavingGo)
	t.Setenv("TMPDIR", filepath.Join(work, "tmp"))
	if err := os.Mkdir(filepath.Join(work, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	said := filepath.Join(work, "said")
	t.Setenv("FAKE_SAID", said)
	gotmpdir := func() string {
		t.Helper()
		var out bytes.Buffer
		if _, err := Build(t.Context(), Options{Dir: app, Progress: &out, GoCommand: goCmd}); err == nil {
			t.Fatalf("Build succeeded, want the failure of the go command\n%s", out.String())
		}
		b, err := os.ReadFile(said)
		if err != nil {
			t.Fatalf("the go command was not run: %v\n%s", err, out.String())
		}
		return strings.TrimSpace(string(b))
	}

	t.Setenv("GOTMPDIR", "")
	dir := gotmpdir()
	if filepath.Dir(dir) != filepath.Join(work, "tmp") || !strings.HasPrefix(filepath.Base(dir), "parigot-build-") {
		t.Errorf("the go command's GOTMPDIR was %s, want a parigot-build- directory in %s", dir, filepath.Join(work, "tmp"))
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s is left after the build (%v)", dir, err)
	}

	mine := filepath.Join(work, "mine")
	t.Setenv("GOTMPDIR", mine)
	if dir := gotmpdir(); dir != mine {
		t.Errorf("with GOTMPDIR=%s set, the go command's was %s", mine, dir)
	}
}
