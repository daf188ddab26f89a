package lines

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestLinesFromManyWritersArriveWholeAndPrefixed(t *testing.T) {
	var out bytes.Buffer
	sink := NewSink(&out)
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b", "c"} {
		w := sink.Writer(name + " | ")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				// Each line arrives in two pieces.
				fmt.Fprintf(w, "line %d of ", i)
				fmt.Fprintf(w, "%s\n", name)
			}
		}()
	}
	wg.Wait()
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != 600 {
		t.Fatalf("%d lines, want 600", len(got))
	}
	for _, l := range got {
		prefix, rest, _ := strings.Cut(l, " | ")
		if !strings.HasSuffix(rest, " of "+prefix) {
			t.Fatalf("line %q is torn or carries another writer's prefix", l)
		}
	}
}

func TestFlushWritesALastLineWithoutNewline(t *testing.T) {
	var out bytes.Buffer
	var seen []string
	w := NewSink(&out).Writer("x | ")
	w.Seen = func(l []byte) { seen = append(seen, string(l)) }
	w.Write([]byte("one\ntwo"))
	if out.String() != "x | one\n" {
		t.Fatalf("before Flush: %q", out.String())
	}
	w.Flush()
	if out.String() != "x | one\nx | two\n" || len(seen) != 2 || seen[1] != "two\n" {
		t.Errorf("after Flush: %q, seen %q", out.String(), seen)
	}
}
