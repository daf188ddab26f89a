package guestbuild

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestAGuestsBytesDependOnItsCodeAlone builds one main package in two
// directories, one of them a git repository with a commit, and expects the
// same bytes: wazero's compilation cache is keyed by them.
func TestAGuestsBytesDependOnItsCodeAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm guests")
	}
	var wasm [][]byte
	for i, repo := range []bool{false, true} {
		dir := t.TempDir()
		write := func(name, content string) {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("go.mod", "module example.com/app\n\ngo 1.26\n")
		write("hello/main.go", "package main\n\nfunc main() { panic(\"where am I\") }\n")
		if repo {
			git, err := exec.LookPath("git")
			if err != nil {
				t.Log("no git: the second directory is no repository")
			} else {
				for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x"}} {
					cmd := exec.Command(git, args...)
					cmd.Dir = dir
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("git %v: %v\n%s", args, err, out)
					}
				}
			}
		}
		out := filepath.Join(t.TempDir(), "hello.wasm")
		cmd := Command(t.Context(), "", dir, out, "./hello", nil)
		// Replace the machine's GOFLAGS, which may say -buildvcs=false and
		// so hide what the flag is for.
		cmd.Env = append(cmd.Env, "GOFLAGS=-mod=mod")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %d: %v\n%s", i, err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(dir)) {
			t.Errorf("the guest built in %s holds that path", dir)
		}
		wasm = append(wasm, b)
	}
	if !bytes.Equal(wasm[0], wasm[1]) {
		t.Error("one guest built in two directories made two different files")
	}
}

func TestBuildAllNamesEachGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm guests")
	}
	dir := t.TempDir()
	for _, name := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(dir, "cmd", name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cmd", name, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/app\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := BuildAll(t.Context(), dir, out, map[string]string{"first": "./cmd/a", "second": "./cmd/b"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"first.wasm", "second.wasm"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	err := BuildAll(t.Context(), dir, out, map[string]string{"first": "./cmd/a", "again": "./other/a"})
	if err == nil {
		t.Error("two packages in directories of one name: no error")
	}
}
