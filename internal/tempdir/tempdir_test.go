package tempdir

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// endedPid returns the id of a process that has ended.
func endedPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestMakeRemovesWhatEndedProcessesLeft(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("processes are looked for on Unix only")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dead, alive := endedPid(t), os.Getppid()
	mk := func(name string) string {
		p := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Join(p, "inner"), 0o700); err != nil {
			t.Fatal(err)
		}
		return p
	}
	left := mk(fmt.Sprintf("parigot-run-%d-111", dead))
	otherKind := mk(fmt.Sprintf("parigot-jetstream-%d-333", dead))
	running := mk(fmt.Sprintf("parigot-run-%d-222", alive))
	notAKind := mk(fmt.Sprintf("parigot-backup-%d-333", dead)) // a user's, named alike
	oldName := mk("parigot-run-123456789")                     // named before directories named their process
	notOurs := mk(fmt.Sprintf("parigot-run-%d", dead))
	file := filepath.Join(tmp, fmt.Sprintf("parigot-run-%d-444", dead))
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	dir, err := Make(Run)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("parigot-run-%d-", os.Getpid()); filepath.Dir(dir) != tmp || !strings.HasPrefix(filepath.Base(dir), want) {
		t.Errorf("Make made %s, want %s in %s", dir, want+"*", tmp)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("the directory made: %v, %v; want a directory only this user may read", fi, err)
	}
	for _, gone := range []string{left, otherKind} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("%s, left by a process that has ended, is still there (%v)", gone, err)
		}
	}
	for _, keep := range []string{running, notAKind, oldName, notOurs, file} {
		if _, err := os.Stat(keep); err != nil {
			t.Errorf("%s was removed: %v", keep, err)
		}
	}
	// A second process's sweep leaves the directory of this one, which runs.
	Sweep(tmp)
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the directory of a process that runs was removed: %v", err)
	}
}

func TestMadeBy(t *testing.T) {
	for name, want := range map[string]int{
		"parigot-run-42-123": 42,
		"parigot-run-42-":    0,
		"parigot-run-42":     0,
		"parigot-run-042-1":  0,
		"parigot-run--42-1":  0,
		"parigot-run-x-1":    0,
		"parigot-debug-42-1": 0,
	} {
		pid, ok := madeBy(name, "parigot-run-")
		if ok != (want != 0) || pid != want {
			t.Errorf("madeBy(%q) = %d, %v; want %d", name, pid, ok, want)
		}
	}
}
