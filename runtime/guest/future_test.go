package guest

import (
	"errors"
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
