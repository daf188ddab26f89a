package compcache

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// Two compilations of one module take turns: the second waits for the
// first and, when the first failed, then holds the module itself; another
// module's compilation waits for neither.
func TestCompilingTheSameModuleTakesTurns(t *testing.T) {
	dir := t.TempDir()
	done, waited := Compiling(t.Context(), dir, []byte("module a"), Wait{Patience: time.Minute})
	if waited {
		t.Error("the first compilation of a module waited")
	}
	other, waited := Compiling(t.Context(), dir, []byte("module b"), Wait{Patience: time.Minute})
	if waited {
		t.Error("the compilation of another module waited for the first")
	}
	other(false)

	released := make(chan struct{})
	second := make(chan func(bool))
	go func() {
		d, _ := Compiling(t.Context(), dir, []byte("module a"), Wait{Patience: time.Minute})
		select {
		case <-released:
		default:
			t.Error("the second compilation of a module went ahead while the first held it")
		}
		second <- d
	}()
	time.Sleep(100 * time.Millisecond) // the second is waiting by now, on all but the busiest machine
	close(released)
	done(false) // the first failed: the module is not in the cache
	done = <-second
	if _, waited := Compiling(t.Context(), dir, []byte("module a"), Wait{Patience: 50 * time.Millisecond}); !waited {
		t.Error("the second compilation of a module, once the first failed, does not hold it")
	}
	done(false)
	if _, waited := Compiling(t.Context(), dir, []byte("module a"), Wait{Patience: time.Minute}); waited {
		t.Error("a compilation after both were over waited")
	}
	if n := left(t, dir); len(n) != 0 {
		t.Errorf("the locks count as entries of the cache: %v", n)
	}
}

// Once a module is compiled into the cache, its compilations wait for no
// other: those that waited for the one that compiled it load it side by
// side, and those that come after do not wait at all; until an entry of
// the cache is removed, when it may have been the module's.
func TestAModuleCompiledIsWaitedForNoMore(t *testing.T) {
	dir := t.TempDir()
	done, _ := Compiling(t.Context(), dir, []byte("module a"), Wait{Patience: time.Minute})
	waiter := make(chan bool)
	go func() {
		_, waited := Compiling(t.Context(), dir, []byte("module a"), Wait{Patience: time.Minute})
		waiter <- waited
	}()
	time.Sleep(100 * time.Millisecond)
	done(true)
	<-waiter
	forgetCompiled(dir) // so that a lock the waiter still held would be waited for
	third, waited := Compiling(t.Context(), dir, []byte("module a"), Wait{Patience: 50 * time.Millisecond})
	if waited {
		t.Error("the compilation that waited for the one that compiled the module still holds it")
	}
	third(false)

	done, _ = Compiling(t.Context(), dir, []byte("module a"), Wait{Patience: time.Minute})
	done(true)
	holder, _ := Compiling(t.Context(), dir, []byte("module a"), Wait{Patience: time.Minute})
	defer holder(false)
	if _, waited := Compiling(t.Context(), dir, []byte("module a"), Wait{Patience: 50 * time.Millisecond}); waited {
		t.Error("a compilation of a module compiled before waited")
	}

	if _, err := Clean(dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	done, _ = Compiling(t.Context(), dir, []byte("module a"), Wait{Patience: time.Minute})
	defer done(false)
	if _, waited := Compiling(t.Context(), dir, []byte("module a"), Wait{Patience: 50 * time.Millisecond}); !waited {
		t.Error("once the cache was cleaned, a compilation of a module compiled before does not wait for another")
	}
}

// A compilation waits for another so long only (patience, or until its
// context ends), then goes ahead without the lock.
func TestCompilingWaitsForAnotherSoLongOnly(t *testing.T) {
	dir := t.TempDir()
	done, _ := Compiling(t.Context(), dir, []byte("module a"), Wait{Patience: time.Minute})
	defer done(false)
	if _, waited := Compiling(t.Context(), dir, []byte("module a"), Wait{Patience: 50 * time.Millisecond}); !waited {
		t.Error("a compilation went ahead at once while another held the module")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, waited := Compiling(ctx, dir, []byte("module a"), Wait{Patience: time.Minute}); !waited {
		t.Error("a compilation whose context ended went ahead at once while another held the module")
	}
}

// A process compiling a module makes another process's compilation of it
// wait: the lock is the file system's, not the process's.
func TestCompilingWaitsForAnotherProcess(t *testing.T) {
	if dir := os.Getenv("COMPCACHE_TEST_HOLD"); dir != "" {
		done, _ := Compiling(context.Background(), dir, []byte("module a"), Wait{Patience: time.Minute})
		os.Stdout.WriteString("held\n")
		bufio.NewReader(os.Stdin).ReadString('\n') // until the test closes stdin
		done(false)
		return
	}
	if runtime.GOOS == "windows" {
		t.Skip("no file locks: each process compiles for itself")
	}
	dir := t.TempDir()
	holder := exec.Command(os.Args[0], "-test.run", "^TestCompilingWaitsForAnotherProcess$")
	holder.Env = append(os.Environ(), "COMPCACHE_TEST_HOLD="+dir)
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Process.Kill()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "held\n" {
		t.Fatalf("the other process said %q, want that it holds the module", line)
	}
	var said []int
	_, waited := Compiling(t.Context(), dir, []byte("module a"), Wait{Patience: 200 * time.Millisecond, Slow: 0, Said: func(pid int) { said = append(said, pid) }})
	if !waited {
		t.Error("a compilation went ahead while another process held the module")
	}
	if len(said) != 1 || said[0] != holder.Process.Pid {
		t.Errorf("a slow wait said it waited for the processes %v, want once for %d, which held the module", said, holder.Process.Pid)
	}
	stdin.Close()
	if err := holder.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, waited := Compiling(t.Context(), dir, []byte("module a"), Wait{Patience: time.Minute}); waited {
		t.Error("a compilation waited for another process that had released the module")
	}
}
