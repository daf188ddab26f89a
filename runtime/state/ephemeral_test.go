package state

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A run with --ephemeral marks the data directory it leaves alone while
// it runs, and no more once it has ended; the marker of a run killed
// before it could remove it (which holds no lock) is not taken for a
// run's, and is removed.
func TestEphemeralRunsAreThoseThatRunNow(t *testing.T) {
	dir := t.TempDir()
	_, release, err := JetStreamDir(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	killed := filepath.Join(dir, ephemeralPrefix+"999999999-1")
	if err := os.WriteFile(killed, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := EphemeralRuns(dir); !slices.Equal(got, []int{os.Getpid()}) {
		t.Errorf("EphemeralRuns while the run lasts = %v, want [%d]", got, os.Getpid())
	}
	if _, err := os.Stat(killed); !os.IsNotExist(err) {
		t.Errorf("the killed run's marker: %v, want it removed", err)
	}
	release()
	if got := EphemeralRuns(dir); len(got) > 0 {
		t.Errorf("EphemeralRuns once the run ended = %v, want none", got)
	}
}

// A run with --ephemeral makes no data directory to mark: one that does
// not exist holds nothing to mistake for the app's state.
func TestAnEphemeralRunMakesNoDataDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".parigot", "data")
	_, release, err := JetStreamDir(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the data directory of a run with --ephemeral: %v, want none made", err)
	}
}
