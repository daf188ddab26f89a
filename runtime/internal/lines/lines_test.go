package lines

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
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

// pieces is what out holds, as the lines after prefix: it fails t if a
// line is longer than MaxLine or lacks the prefix, or if a piece after the
// first lacks Continued; and it returns the line they make together.
func pieces(t *testing.T, out, prefix string) (n int, whole string) {
	t.Helper()
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		rest, ok := strings.CutPrefix(l, prefix)
		if !ok {
			t.Fatalf("piece %d %.40q... lacks the prefix %q", i, l, prefix)
		}
		if len(rest) > MaxLine {
			t.Fatalf("piece %d is %d bytes, more than MaxLine (%d)", i, len(rest), MaxLine)
		}
		if rest, ok = strings.CutPrefix(rest, Continued); ok != (i > 0) {
			t.Fatalf("piece %d %.40q...: starts with %q: %v, want %v", i, l, Continued, ok, i > 0)
		}
		b.WriteString(rest)
		n++
	}
	return n, b.String()
}

func TestALineLongerThanTheBoundComesOutInPieces(t *testing.T) {
	// 10 MB without a newline, in the 32 KB pieces os/exec copies a split
	// child's stdout in.
	const size = 10 << 20
	line := make([]byte, size)
	for i := range line {
		line[i] = 'a' + byte(i/1000%26) // so that pieces out of order show
	}
	var out bytes.Buffer
	w := NewSink(&out).Writer("g | ")
	for p := line; len(p) > 0; {
		k := min(32<<10, len(p))
		w.Write(p[:k])
		p = p[k:]
		if len(w.buf) > MaxLine || cap(w.buf) > MaxLine {
			t.Fatalf("after %d bytes the writer holds %d bytes (capacity %d), more than MaxLine (%d)",
				size-len(p), len(w.buf), cap(w.buf), MaxLine)
		}
	}
	w.Flush()
	n, got := pieces(t, out.String(), "g | ")
	if got != string(line) {
		t.Fatalf("the pieces make %d bytes, not the %d written, or not in order", len(got), size)
	}
	if first := strings.Index(out.String(), "\n"); first != len("g | ")+MaxLine {
		t.Errorf("the first piece is %d bytes, want MaxLine (%d)", first-len("g | "), MaxLine)
	}
	if want := 1 + (size-MaxLine+MaxLine-len(Continued)-1)/(MaxLine-len(Continued)); n != want {
		t.Errorf("%d pieces, want %d", n, want)
	}
}

func TestALineIsCutOnlyPastTheBoundAndBetweenCharacters(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		pieces     int
	}{
		{"a line of exactly MaxLine bytes comes out whole", strings.Repeat("x", MaxLine), 1},
		{"one byte more is two pieces", strings.Repeat("x", MaxLine+1), 2},
		{"a two-byte character is not split", "x" + strings.Repeat("é", MaxLine), 3},
		{"nor a four-byte one", "xy" + strings.Repeat("😀", MaxLine/4+1), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			w := NewSink(&out).Writer("g | ")
			w.Write([]byte(tc.line + "\nnext\n"))
			s := out.String()
			if !strings.HasSuffix(s, "g | next\n") {
				t.Fatalf("the next line is not after the long one: %.40q", s[max(0, len(s)-40):])
			}
			s = strings.TrimSuffix(s, "g | next\n")
			if !utf8.ValidString(s) {
				t.Errorf("a character was split")
			}
			if n, got := pieces(t, s, "g | "); n != tc.pieces || got != tc.line {
				t.Errorf("%d pieces making %d bytes, want %d making %d", n, len(got), tc.pieces, len(tc.line))
			}
		})
	}
}

func TestAChildsCutLinesPassTheSupervisorWhole(t *testing.T) {
	line := strings.Repeat("0123456789", MaxLine/4) + "\n" // 2.5 MaxLine
	var direct, relayed bytes.Buffer
	NewSink(&direct).Writer("g | ").Write([]byte(line))

	// A split-mode child writes its guest's lines unprefixed; its
	// supervisor prefixes them.
	supervisor := NewSink(&relayed).Writer("g | ")
	NewSink(supervisor).Writer("").Write([]byte(line))
	if direct.String() != relayed.String() {
		t.Errorf("through a child and its supervisor, %d bytes in %d lines; directly, %d in %d",
			relayed.Len(), strings.Count(relayed.String(), "\n"), direct.Len(), strings.Count(direct.String(), "\n"))
	}

	// Under --log-format json the child writes records, which the
	// supervisor passes on as they are.
	var records, passed bytes.Buffer
	NewSink(&records).JSONWriter("g", "stdout", nil).Write([]byte(strings.Repeat("<&>", MaxLine) + "\n"))
	NewSink(&passed).RecordWriter().Write(records.Bytes())
	if passed.String() != records.String() {
		t.Fatalf("the supervisor changed the child's records")
	}
	var msgs strings.Builder
	for i, r := range strings.Split(strings.TrimSuffix(records.String(), "\n"), "\n") {
		var rec struct{ Msg string }
		if err := json.Unmarshal([]byte(r), &rec); err != nil {
			t.Fatalf("record %d is not JSON: %v", i, err)
		}
		if len(r) > MaxRecord || len(rec.Msg) > MaxLine {
			t.Fatalf("record %d is %d bytes with a msg of %d", i, len(r), len(rec.Msg))
		}
		msg, cont := strings.CutPrefix(rec.Msg, Continued)
		if cont != (i > 0) {
			t.Errorf("record %d: msg starts with %q: %v", i, Continued, cont)
		}
		msgs.WriteString(msg)
	}
	if msgs.String() != strings.Repeat("<&>", MaxLine) {
		t.Errorf("the records' msgs make %d bytes, want %d", msgs.Len(), 3*MaxLine)
	}
}

func TestEachByteIsLookedAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		piece string
	}{
		{"a long line in 32 KB pieces", strings.Repeat("z", 32<<10)},
		{"short lines in small pieces", "one line\nand the start of ano"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewSink(io.Discard).Writer("g | ")
			written := 0
			for written < 4<<20 {
				w.Write([]byte(tc.piece))
				written += len(tc.piece)
			}
			if w.scanned != written {
				t.Errorf("%d bytes looked at for a newline, for %d written", w.scanned, written)
			}
		})
	}
}

// BenchmarkLongLine writes a 10 MB line in 32 KB pieces; bytes-scanned/B
// is the bytes looked at for a newline per byte written (1 when each is
// looked at once).
func BenchmarkLongLine(b *testing.B) {
	piece := []byte(strings.Repeat("z", 32<<10))
	b.SetBytes(10 << 20)
	scanned := 0
	for b.Loop() {
		w := NewSink(io.Discard).Writer("g | ")
		for range 320 {
			w.Write(piece)
		}
		w.Flush()
		scanned += w.scanned
	}
	b.ReportMetric(float64(scanned)/float64(b.N)/(10<<20), "bytes-scanned/B")
}

// gate is a destination whose every Write waits for the test to let it
// finish, telling the test first what it writes.
type gate struct {
	started chan string
	finish  chan struct{}
}

func (g *gate) Write(p []byte) (int, error) {
	g.started <- string(p)
	<-g.finish
	return len(p), nil
}

func TestALongLineKeepsAnotherGuestWaitingForOnePiece(t *testing.T) {
	g := &gate{started: make(chan string), finish: make(chan struct{})}
	sink := NewSink(g)
	long, short := sink.Writer("long | "), sink.Writer("short | ")
	next := func() string {
		t.Helper()
		select {
		case s := <-g.started:
			return s
		case <-time.After(10 * time.Second):
			t.Fatal("no write reached the destination in 10 s")
			return ""
		}
	}
	longDone, shortDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(longDone)
		long.Write([]byte(strings.Repeat("x", 3*MaxLine) + "\n"))
	}()
	if first := next(); len(first) > len("long | ")+MaxLine+1 {
		t.Fatalf("the long line's first write is %d bytes, more than one piece", len(first))
	}
	go func() {
		defer close(shortDone)
		fmt.Fprintln(short, "hello")
	}()
	for deadline := time.Now().Add(10 * time.Second); ; runtime.Gosched() { // until the short line waits for its turn
		sink.mu.Lock()
		waiting := len(sink.waiting)
		sink.mu.Unlock()
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the short line is not waiting for its turn after 10 s")
		}
	}
	g.finish <- struct{}{} // the first piece is written
	if got := next(); got != "short | hello\n" {
		t.Fatalf("after the long line's first piece came %.40q..., not the short line", got)
	}
	g.finish <- struct{}{}
	<-shortDone
	for {
		select {
		case <-g.started:
			g.finish <- struct{}{}
		case <-longDone:
			return
		}
	}
}

// A split-mode child's host marks its own lines with Said; its supervisor
// writes them as single mode does, unprefixed and unmarked, and a guest's
// line that starts with the mark is escaped in the child, so that it
// reaches the supervisor as the guest's, prefixed.
func TestTheHostsOwnLinesCrossFromAChildUnprefixedAndAGuestCannotForgeThem(t *testing.T) {
	var child bytes.Buffer
	childSink := NewSink(&child)
	guest := childSink.Writer("").Escaping()
	guest.Write([]byte("hello\n\x1eparigot: forged\n\x1e\x1eparigot: forged alike\n"))
	SaidWriter(&child).Write([]byte("parigot: service echo: method ran over its budget\n"))
	childSink.WriteLine(MarkSaid([]byte("parigot: said\n")))

	var out bytes.Buffer
	fromChild := NewSink(&out).Writer("echo | ").Passing()
	fromChild.Write(child.Bytes())
	want := "echo | hello\n" +
		"echo | ␞parigot: forged\n" +
		"echo | ␞\x1eparigot: forged alike\n" +
		"parigot: service echo: method ran over its budget\n" +
		"parigot: said\n"
	if out.String() != want {
		t.Errorf("the supervisor wrote\n%s\nwant\n%s", out.String(), want)
	}
}

// What every child's process says alike (a tracing receiver that does
// not answer, then answers again) is written once, as single mode says
// it; a child that says something new is heard, and so is one that says
// a line again after saying something else. A host's own line marked
// only Said (an event of its guest's, which two replicas may say in the
// same words) is written each time.
func TestWhatChildrenSayAlikeIsWrittenOnce(t *testing.T) {
	var out bytes.Buffer
	sink := NewSink(&out)
	a, b, c := sink.Writer("a | ").Passing(), sink.Writer("b | ").Passing(), sink.Writer("c | ").Passing()
	down := string(MarkAlike([]byte("parigot: tracing: spans are dropped\n")))
	up := string(MarkAlike([]byte("parigot: tracing: sending spans again\n")))
	over := string(MarkSaid([]byte("parigot: service echo: a method ran over its budget\n")))
	for _, step := range []struct {
		w    *Writer
		line string
	}{
		{a, down}, {b, down}, {c, "hello\n"}, {c, down},
		{a, up}, {b, up}, {c, up},
		{a, over}, {b, over},
		{a, down}, {b, down},
	} {
		step.w.Write([]byte(step.line))
	}
	want := "parigot: tracing: spans are dropped\n" +
		"c | hello\n" +
		"parigot: tracing: sending spans again\n" +
		"parigot: service echo: a method ran over its budget\n" +
		"parigot: service echo: a method ran over its budget\n" +
		"parigot: tracing: spans are dropped\n"
	if out.String() != want {
		t.Errorf("the supervisor wrote\n%s\nwant\n%s", out.String(), want)
	}
}

// A JSON record said alike (--log-format json) is written once too,
// though each child's has its own time.
func TestARecordChildrenSayAlikeIsWrittenOnce(t *testing.T) {
	var out bytes.Buffer
	sink := NewSink(&out)
	a, b := sink.RecordWriter().Passing(), sink.RecordWriter().Passing()
	a.Write(MarkAlike([]byte(`{"guest":"parigot","time":"2026-11-27T07:00:00.1Z","stream":"stderr","msg":"parigot: spans are dropped"}` + "\n")))
	b.Write(MarkAlike([]byte(`{"guest":"parigot","time":"2026-11-27T07:00:00.2Z","stream":"stderr","msg":"parigot: spans are dropped"}` + "\n")))
	b.Write([]byte(`{"guest":"b","time":"2026-11-27T07:00:00.3Z","stream":"stdout","msg":"hello"}` + "\n"))
	want := `{"guest":"parigot","time":"2026-11-27T07:00:00.1Z","stream":"stderr","msg":"parigot: spans are dropped"}` + "\n" +
		`{"guest":"b","time":"2026-11-27T07:00:00.3Z","stream":"stdout","msg":"hello"}` + "\n"
	if out.String() != want {
		t.Errorf("the supervisor wrote\n%s\nwant\n%s", out.String(), want)
	}
}
