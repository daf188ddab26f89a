package guestbuild

import (
	"bytes"
	"go/version"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
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

// TestGuestsOfGo126GetTheAllocatorOfGo127 builds a guest and looks for the
// size-specialized mallocs in its function names: the allocator that Go
// 1.27 makes the default, which guests built with Go 1.26 get too.
func TestGuestsOfGo126GetTheAllocatorOfGo127(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm guest")
	}
	if version.Lang(runtime.Version()) != "go1.26" {
		t.Skipf("%s: the experiment is for Go 1.26 only", runtime.Version())
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "hello"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"go.mod":        "module example.com/app\n\ngo 1.26\n",
		"hello/main.go": "package main\n\nvar sink *[3]int\n\nfunc main() { sink = new([3]int) }\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("GOEXPERIMENT", "")
	out := filepath.Join(t.TempDir(), "hello.wasm")
	if b, err := Command(t.Context(), "", dir, out, "./hello", nil).CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("runtime.mallocgcSmallScanNoHeaderSC")) {
		t.Error("the guest has no size-specialized malloc: it was built without GOEXPERIMENT=" + fastAlloc)
	}
}

func TestTheAllocatorExperimentIsForGo126Only(t *testing.T) {
	for _, c := range []struct {
		goVersion, experiments string
		want                   string // GOEXPERIMENT added, "" none
	}{
		{"go1.26.8", "", "sizespecializedmalloc"},
		{"go1.26rc2", "", "sizespecializedmalloc"},
		{"go1.26.8", "arenas", "arenas,sizespecializedmalloc"},
		{"go1.26.8", "nosizespecializedmalloc", ""}, // the user's choice
		{"go1.26.8", "sizespecializedmalloc,arenas", ""},
		{"go1.27.3", "", ""}, // the default there
		{"go1.28.0", "", ""}, // the experiment's name is to go
		{"devel go1.27-abcdef", "", ""},
		{"", "", ""},
	} {
		var got string
		for _, e := range guestEnv(c.goVersion, c.experiments) {
			if v, ok := strings.CutPrefix(e, "GOEXPERIMENT="); ok {
				got = v
			}
		}
		if got != c.want {
			t.Errorf("%s with GOEXPERIMENT=%q: adds GOEXPERIMENT=%q, want %q", c.goVersion, c.experiments, got, c.want)
		}
	}
}

func TestAGuestIsBuiltWithoutTheFlagsOfNativeCodeAlone(t *testing.T) {
	tests := []struct {
		scenario, goflags, want string
		dropped                 bool
	}{
		{"the race detector is for the tests", "-race", "", true},
		{"the other flags stay", "-mod=mod -race -trimpath", "-mod=mod -trimpath", true},
		{"every form of the flag goes", "--race=true -msan -asan=false -v", "-v", true},
		{"flags wasm takes are kept as they are", "-mod=vendor  -tags=x", "-mod=vendor  -tags=x", false},
		{"a flag that only starts like one stays", "-racey", "-racey", false},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			got, dropped := guestGOFLAGS(tt.goflags)
			if dropped != tt.dropped || (dropped && got != tt.want) {
				t.Errorf("guestGOFLAGS(%q) = %q, %v; want %q, %v", tt.goflags, got, dropped, tt.want, tt.dropped)
			}
		})
	}
	t.Run("the go command's environment has them dropped", func(t *testing.T) {
		t.Setenv("GOFLAGS", "-race -mod=mod")
		env := environ(Env...)
		if last := lastValue(env, "GOFLAGS"); last != "-mod=mod" {
			t.Errorf("GOFLAGS in a guest's build = %q, want -mod=mod", last)
		}
	})
}

// lastValue is the value of name in env, as exec takes it: the last.
func lastValue(env []string, name string) string {
	var v string
	for _, kv := range env {
		if k, val, _ := strings.Cut(kv, "="); k == name {
			v = val
		}
	}
	return v
}
