//go:build unix

package builder

import (
	"testing"
	"time"
)

func TestBuildsOfOneAppTakeTurns(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockApp(dir)
	if err != nil {
		t.Fatal(err)
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
	case <-time.After(5 * time.Second):
		t.Fatal("the second build did not get the lock once the first let go")
	}
}
