package guest

import (
	"testing"
	"time"
)

func TestTimersRunInOrderWhenDue(t *testing.T) {
	l := eventLoop{}
	saved := loop
	loop = l
	defer func() { loop = saved }()
	var ran []string
	After(30*time.Millisecond, func() { ran = append(ran, "late") })
	After(10*time.Millisecond, func() { ran = append(ran, "early") })
	now := time.Now()
	if got := loop.pollTimeout(now); got <= 0 || got > int64(10*time.Millisecond) {
		t.Errorf("poll timeout %v, want up to the first timer (10ms)", time.Duration(got))
	}
	loop.runDue(now.Add(20 * time.Millisecond))
	if len(ran) != 1 || ran[0] != "early" {
		t.Fatalf("after 20ms ran %v, want [early]", ran)
	}
	loop.runDue(now.Add(40 * time.Millisecond))
	if len(ran) != 2 || ran[1] != "late" {
		t.Fatalf("after 40ms ran %v, want [early late]", ran)
	}
	if got := loop.pollTimeout(now); got != -1 {
		t.Errorf("poll timeout with nothing to do = %d, want -1 (wait for an event)", got)
	}
}

func TestBackgroundStepsShareTheLoopUntilDone(t *testing.T) {
	saved := loop
	loop = eventLoop{}
	defer func() { loop = saved }()
	a, b := 0, 0
	Background(func() bool { a++; return a == 3 })
	Background(func() bool { b++; return b == 1 })
	if loop.pollTimeout(time.Now()) != 0 {
		t.Error("with background work, poll must not wait")
	}
	for i := 0; i < 10 && len(loop.background) > 0; i++ {
		loop.runBackground()
	}
	if a != 3 || b != 1 {
		t.Errorf("steps ran a=%d b=%d, want 3 and 1", a, b)
	}
}
