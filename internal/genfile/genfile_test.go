package genfile

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestAFileIsWrittenOnlyWhenItsContentChanges(t *testing.T) {
	name := filepath.Join(t.TempDir(), "gen", "x.go")
	wrote, err := WriteIfChanged(name, []byte("one"))
	if err != nil || !wrote {
		t.Fatalf("first write: wrote=%v err=%v", wrote, err)
	}
	past := time.Now().Add(-time.Hour)
	os.Chtimes(name, past, past)
	wrote, err = WriteIfChanged(name, []byte("one"))
	if err != nil || wrote {
		t.Fatalf("same content: wrote=%v err=%v, want no write", wrote, err)
	}
	if fi, _ := os.Stat(name); !fi.ModTime().Equal(past) {
		t.Errorf("the unchanged file's time moved")
	}
	if wrote, err = WriteIfChanged(name, []byte("two")); err != nil || !wrote {
		t.Fatalf("new content: wrote=%v err=%v", wrote, err)
	}
	if b, _ := os.ReadFile(name); string(b) != "two" {
		t.Errorf("content %q, want two", b)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(name), ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}
