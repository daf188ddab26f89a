package guest

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unsafe"

	idv1 "parigot.dev/parigot/proto/parigot/id/v1"
)

func TestAFutureRunsItsCallbacksOnceWhenResolved(t *testing.T) {
	f := NewFuture[int]()
	var got []int
	failed := false
	f.Success(func(v int) { got = append(got, v) }).Failure(func(error) { failed = true })
	if !f.Resolve(7) {
		t.Fatal("first Resolve reported false")
	}
	if f.Resolve(8) || f.Reject(errors.New("late")) {
		t.Error("a second completion was accepted")
	}
	f.Success(func(v int) { got = append(got, v*10) })
	if len(got) != 2 || got[0] != 7 || got[1] != 70 {
		t.Errorf("success callbacks saw %v, want [7 70]", got)
	}
	if failed {
		t.Error("the failure callback ran on a resolved future")
	}
}

func TestAFutureRunsOnlyFailureCallbacksWhenRejected(t *testing.T) {
	f := NewFuture[string]()
	var gotErr error
	succeeded := false
	f.Success(func(string) { succeeded = true })
	boom := errors.New("boom")
	f.Reject(boom)
	f.Failure(func(err error) { gotErr = err })
	if succeeded || gotErr != boom {
		t.Errorf("succeeded=%v err=%v, want only the failure callback with boom", succeeded, gotErr)
	}
}

func TestCompletedChoosesByError(t *testing.T) {
	if !Completed(1, nil).Done() {
		t.Error("Completed(v, nil) is not done")
	}
	var err error
	Completed(0, errors.New("x")).Failure(func(e error) { err = e })
	if err == nil {
		t.Error("Completed(v, err) did not fail")
	}
}

func TestErrorsMatchTheirCodeSentinel(t *testing.T) {
	err := error(&Error{Code: CodeDeadlineExceeded, Method: "a.B/C", Message: "too slow"})
	if !errors.Is(err, ErrDeadlineExceeded) {
		t.Error("a deadline error does not match ErrDeadlineExceeded")
	}
	if errors.Is(err, ErrUnavailable) {
		t.Error("a deadline error matches ErrUnavailable")
	}
	if got, want := err.Error(), "a.B/C: deadline exceeded: too slow"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if CodeOf(errors.New("plain")) != CodeUnknown {
		t.Error("a plain error's code is not unknown")
	}
}

func TestNativelyLocateSaysThereIsNoHost(t *testing.T) {
	_, err := Locate("greeting.v1.Greeting")
	if err == nil || err.Error() != "parigot: locate greeting.v1.Greeting: not running under a parigot host" {
		t.Errorf("Locate natively = %v", err)
	}
}

func TestAFuturesCallbacksRunOnceEachInTheOrderTheyCame(t *testing.T) {
	for _, tc := range []struct {
		name     string
		complete func(*Future[int])
		want     string
	}{
		{"resolved", func(f *Future[int]) { f.Resolve(1) }, "s1 s2 s3 then"},
		{"rejected", func(f *Future[int]) { f.Reject(errors.New("x")) }, "f1 f2 f3 then"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ran []string
			note := func(s string) { ran = append(ran, s) }
			f := NewFuture[int]()
			f.whenDone(func(int, error) { note("then") })
			for i := range 3 {
				f.Success(func(int) { note("s" + string(rune('1'+i))) })
				f.Failure(func(error) { note("f" + string(rune('1'+i))) })
			}
			tc.complete(f)
			tc.complete(f) // a second completion runs nothing
			if got := strings.Join(ran, " "); got != tc.want {
				t.Errorf("ran %q, want %q", got, tc.want)
			}
		})
	}
}

// A future of a pointer from Resolved (or Completed) comes from a block
// of them: a method answering at once costs no allocation for it.
func TestAResolvedFutureOfAPointerCostsNoAllocationOfItsOwn(t *testing.T) {
	v := new(int)
	if n := testing.AllocsPerRun(1000, func() { Resolved(v) }); n != 0 {
		t.Errorf("Resolved of a pointer: %v allocations a call, want none (one per %d calls)", n, blockSize)
	}
	if n := testing.AllocsPerRun(1000, func() { Resolved(3) }); n != 1 {
		t.Errorf("Resolved of an int: %v allocations a call, want 1 (it has a future of its own)", n)
	}
}

// The block holds futures of any pointer type because a future of one
// pointer type is laid out as a future of any other: the same size, and
// every field at the same offset.
func TestFuturesOfPointersAreLaidOutAlike(t *testing.T) {
	type layout struct{ size, value, err, success, failure, more, then uintptr }
	of := func(size, value, err, success, failure, more, then uintptr) layout {
		return layout{size, value, err, success, failure, more, then}
	}
	var p Future[unsafe.Pointer]
	var b Future[*bytes.Buffer]
	var s Future[*idv1.Id]
	want := of(unsafe.Sizeof(p), unsafe.Offsetof(p.value), unsafe.Offsetof(p.err), unsafe.Offsetof(p.success), unsafe.Offsetof(p.failure), unsafe.Offsetof(p.more), unsafe.Offsetof(p.then))
	for name, got := range map[string]layout{
		"*bytes.Buffer": of(unsafe.Sizeof(b), unsafe.Offsetof(b.value), unsafe.Offsetof(b.err), unsafe.Offsetof(b.success), unsafe.Offsetof(b.failure), unsafe.Offsetof(b.more), unsafe.Offsetof(b.then)),
		"*idv1.Id":      of(unsafe.Sizeof(s), unsafe.Offsetof(s.value), unsafe.Offsetof(s.err), unsafe.Offsetof(s.success), unsafe.Offsetof(s.failure), unsafe.Offsetof(s.more), unsafe.Offsetof(s.then)),
	} {
		if got != want {
			t.Errorf("Future[%s] is laid out as %+v, Future[unsafe.Pointer] as %+v", name, got, want)
		}
	}
}

// The collector sees the value of a future from the block as the pointer
// it is: what only kept futures point to survives collections, however
// many other futures of the same blocks were dropped, and a future's
// callbacks see their own value.
func TestWhatAKeptFutureHoldsOutlivesCollections(t *testing.T) {
	type filled struct{ b [64]byte }
	var kept []*Future[*filled]
	for i := range 10 * blockSize {
		v := new(filled)
		for j := range len(v.b) {
			v.b[j] = byte(i)
		}
		f := Resolved(v)
		if i%7 == 0 {
			kept = append(kept, f)
		}
	}
	var churn [][]byte
	for range 5 {
		runtime.GC()
		for range 1000 {
			churn = append(churn, make([]byte, 64))
		}
	}
	for k, f := range kept {
		want := byte(7 * k)
		var got *filled
		f.Success(func(v *filled) { got = v })
		for j := range len(got.b) {
			if got.b[j] != want {
				t.Fatalf("kept future %d holds %d, want %d everywhere: its value was collected", k, got.b[j], want)
			}
		}
	}
	runtime.KeepAlive(churn)
}

// Natively, Go code may resolve futures on several threads at once (a
// service's unit tests, run in parallel): each gets a future of its own.
func TestFuturesResolvedOnManyGoroutinesAreEachTheirOwn(t *testing.T) {
	const goroutines, each = 8, 2000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			values := make([]int, each)
			futures := make([]*Future[*int], each)
			for i := range each {
				values[i] = g*each + i
				futures[i] = Resolved(&values[i])
			}
			for i, f := range futures {
				f.Success(func(v *int) {
					if v != &values[i] {
						t.Errorf("goroutine %d, future %d holds %d: another goroutine was given the same future", g, i, *v)
					}
				})
			}
		})
	}
	wg.Wait()
}
