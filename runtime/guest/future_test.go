package guest

import (
	"errors"
	"strings"
	"testing"
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
