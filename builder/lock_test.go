//go:build unix

package builder

import (
	"testing"
	"time"
)

func TestBuildsOfOneAppTakeTurns(t *testing.T) {
	for _, tc := range []struct {
		name      string
		secondTmp bool
	}{
		{"in one process", false},
		// A test runner (testscript, for one) gives the processes it starts
		// their own TMPDIR: their builds must still exclude each other.
		{"whatever the temp directory of each", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			unlock, err := lockApp(dir)
			if err != nil {
				t.Fatal(err)
			}
			if tc.secondTmp {
				t.Setenv("TMPDIR", t.TempDir())
			}
			got := make(chan struct{})
			go func() {
				u, err := lockApp(dir)
				if err == nil {
					u()
				}
				close(got)
			}()
			select {
			case <-got:
				t.Fatal("a second build got the lock while the first held it")
			case <-time.After(50 * time.Millisecond):
			}
			unlock()
			select {
			case <-got:
			case <-time.After(time.Minute):
				t.Fatal("the second build did not get the lock once the first let go")
			}
		})
	}
}
