package host

import (
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
