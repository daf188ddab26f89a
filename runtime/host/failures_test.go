package host

import (
	"bytes"
	"fmt"
	"testing"
)

// A run keeps of each guest its latest FailuresKept failures, in the
// order they came, however many times the guest failed over a long run;
// the other guests' failures are not touched.
func TestARunKeepsEachGuestsLatestFailures(t *testing.T) {
	var fs []Failure
	fs = AppendFailures(fs, Failure{Guest: "other", Detail: "other 1"})
	for i := 1; i <= 10; i++ {
		fs = AppendFailures(fs, Failure{Guest: "books", Detail: fmt.Sprintf("books %d", i)})
	}
	fs = AppendFailures(fs, Failure{Guest: "other", Detail: "other 2"}, Failure{Guest: "books", Detail: "books 11"})
	var got []string
	for _, f := range fs {
		got = append(got, f.Detail)
	}
	want := []string{"other 1", "books 8", "books 9", "books 10", "other 2", "books 11"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the run keeps %q, want %q", got, want)
	}
}

// A service that fails more times than a run keeps says so at the end:
// the result keeps its latest failures and counts every one, which the
// run's last line reports.
func TestARunCountsEveryFailureBeyondThoseItKeeps(t *testing.T) {
	crash := &GuestSpec{Name: "crash", Kind: Service, Wasm: wasm(t, "crash"), Implements: []string{"test.Crash"},
		MethodTimeout: patience, Restart: RestartOnFailure}
	caller := &GuestSpec{Name: "crashrepeatcaller", Kind: Program, Wasm: wasm(t, "caller"), Requires: []string{"crash"}}
	var out bytes.Buffer
	res, err := Run(t.Context(), Config{Guests: []*GuestSpec{crash, caller}, Stdout: &out, Stderr: &out,
		Restart: func() (int, bool) { return 1, true }}) // every restart the first: no wait, no end
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	assertLines(t, out.String(), []string{"crashrepeatcaller | Boom: 0 panics left to see"})
	if res.Failed != 6 || len(res.Failures) != FailuresKept {
		t.Errorf("the run counted %d failures and kept %d; want 6 counted, the latest %d kept\n%s", res.Failed, len(res.Failures), FailuresKept, out.String())
	}
	if res.FailedTimes() != 6 {
		t.Errorf("FailedTimes = %d, want 6", res.FailedTimes())
	}
}

// A result from a host that kept no count (a split-mode child of an
// older parigot) counts the failures it carries.
func TestAResultWithoutACountCountsItsFailures(t *testing.T) {
	var r Result
	r.AddFailures(0, Failure{Guest: "a"}, Failure{Guest: "b"})
	r.AddFailures(7, Failure{Guest: "a"})
	if r.Failed != 9 {
		t.Errorf("Failed = %d, want 2 + 7", r.Failed)
	}
}
