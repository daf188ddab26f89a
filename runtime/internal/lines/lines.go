// Package lines interleaves the output of many guests line by line: each
// guest's stream goes through a Writer that cuts it into lines and prefixes
// them ("greeting | "), and a Sink writes those lines, one at a time, to the
// terminal or log they share. Single mode, split mode's supervisor and the
// test harness all show guest output this way.
//
// A line longer than MaxLine is cut into pieces of at most MaxLine bytes,
// each written as a line of its own, so that what a guest writes costs
// bounded memory however long its lines, and one guest's long line keeps
// another waiting for at most one piece.
package lines

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"

	"parigot.dev/parigot/internal/syncbuf"
)

// MaxLine is the most a Writer holds of one line, and so the longest line
// it writes (not counting its prefix and newline). A longer line is cut
// into pieces of at most MaxLine bytes, each written as a line; every piece
// after the first starts with Continued, within the bound. 64 KiB is far
// more than any line meant to be read (a log record, a stack frame), and
// little enough that a guest writing gigabytes without a newline costs the
// host 64 KiB per stream, and that writing one piece to a slow terminal or
// pipe keeps the other guests waiting only briefly. A line of at most
// MaxLine bytes comes out whole, so output that has been through a Writer
// (a split-mode child's) goes through another (its supervisor's) unchanged.
const MaxLine = 64 << 10

// Continued starts each piece of a cut line after the first, so that a
// reader sees where the line was cut, and a piece that happens to start
// with "panic: " is not taken for a panic. A line is cut where a UTF-8
// character starts.
const Continued = "… "

// Said starts each line a split-mode child's host writes of its own
// ("parigot: ..."): its supervisor writes such a line without the child's
// prefix and without the mark (see Writer.Passing), as single mode writes
// the host's lines. In the child, a guest's line that starts with it gets
// SaidEscaped in its place (see Writer.Escaping), so that no guest can
// pass its lines off as parigot's.
const Said = '\x1e' // ASCII's record separator, which text does not hold

// SaidEscaped stands for Said at the start of a guest's line: Unicode's
// picture of the record separator.
const SaidEscaped = "␞"

// MarkSaid returns line with Said in front.
func MarkSaid(line []byte) []byte { return append([]byte{Said}, line...) }

// MarkAlike returns line marked as one that every split-mode child's
// process of a run says alike, of what they share (a tracing receiver
// that does not answer): Said twice. Its supervisor writes it as a line
// marked Said, but once for all the children that say it (see
// Sink.passSaid), as single mode says it once. A guest cannot forge it:
// the first mark of its line is escaped.
func MarkAlike(line []byte) []byte { return append([]byte{Said, Said}, line...) }

// SaidWriter returns a writer that puts Said in front of each write to w:
// for a logger that writes one line per call (log/slog's handlers).
func SaidWriter(w io.Writer) io.Writer { return saidWriter{w, MarkSaid} }

// AlikeWriter is SaidWriter with MarkAlike.
func AlikeWriter(w io.Writer) io.Writer { return saidWriter{w, MarkAlike} }

type saidWriter struct {
	w    io.Writer
	mark func([]byte) []byte
}

func (s saidWriter) Write(p []byte) (int, error) {
	if _, err := s.w.Write(s.mark(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// MaxRecord is the longest line a RecordWriter passes whole: the JSON
// record of a piece of at most MaxLine bytes is at most six times as long
// (each byte escaped as \u00XX or \ufffd), plus the host's fields.
const MaxRecord = 8 * MaxLine

// Sink writes lines from many Writers to one io.Writer, one line at a time,
// in the order their writers came to it: a line waits for at most the line
// being written and those that came before it, one from each other Writer.
type Sink struct {
	w io.Writer

	mu      sync.Mutex      // guards the three below
	busy    bool            // a line is being written to w
	waiting []chan struct{} // the lines waiting for their turn, first come first; closing one gives it the turn
	// lastSaid is the last line said alike (see MarkAlike) each Passing
	// writer passed.
	lastSaid map[*Writer]string
}

// alikeKey is what tells a line said alike from another: the line, or for
// a JSON record (--log-format json), the record without its time, which
// differs between the children that say it.
func alikeKey(line []byte) []byte {
	var rec map[string]json.RawMessage
	if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &rec) != nil {
		return line
	}
	delete(rec, "time")
	key, err := json.Marshal(rec) // in the order of its keys
	if err != nil {
		return line
	}
	return key
}

// passSaid reports whether w should write line, a line a split-mode
// child's process says alike with every other (see MarkAlike): not when
// it is the last such line of another child too. Single mode says it
// once, and so does the supervisor. A child that says something new, or
// says it again after saying something else, is heard.
func (s *Sink) passSaid(w *Writer, line []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	said := false
	for other, last := range s.lastSaid {
		if other != w && last == string(line) {
			said = true
			break
		}
	}
	if s.lastSaid == nil {
		s.lastSaid = map[*Writer]string{}
	}
	s.lastSaid[w] = string(line)
	return !said
}

// NewSink returns a Sink writing to w.
func NewSink(w io.Writer) *Sink { return &Sink{w: w} }

// WriteLine writes line, which should end in a newline, in one piece.
func (s *Sink) WriteLine(line []byte) {
	s.take()
	defer s.give()
	s.w.Write(line)
}

// take waits for the turn to write a line. Unlike a sync.Mutex, which lets
// the writer that just wrote a piece take it again ahead of one that has
// been waiting, the turn goes to the writers in the order they came.
func (s *Sink) take() {
	s.mu.Lock()
	if !s.busy {
		s.busy = true
		s.mu.Unlock()
		return
	}
	turn := make(chan struct{})
	s.waiting = append(s.waiting, turn)
	s.mu.Unlock()
	<-turn
}

// give passes the turn to the line that has waited longest, if one does.
func (s *Sink) give() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiting) == 0 {
		s.busy = false
		return
	}
	close(s.waiting[0])
	s.waiting[0] = nil
	s.waiting = s.waiting[1:]
}

// Writer cuts what is written to it into lines and hands each to its Sink
// with the prefix in front, cutting a line longer than its bound (MaxLine)
// into pieces. It is safe for concurrent use.
type Writer struct {
	sink   *Sink
	prefix string
	// Seen, when set, is called with every line (without the prefix)
	// before it is written; the line is only lent to it.
	Seen func(line []byte)
	// format, when set, makes the whole line written instead of the prefix
	// and the line (see JSONWriter).
	format func(line []byte) []byte
	max    int // the longest line it writes, without the newline: MaxLine, or MaxRecord
	// escape and pass: what it does with a line that starts with Said
	// (see Escaping and Passing).
	escape, pass bool

	mu      sync.Mutex
	buf     []byte // the line so far, without its newline: at most max bytes, Continued included
	cut     bool   // buf continues a line that was cut: its piece starts with Continued
	out     []byte // the line as written, reused from one line to the next
	scanned int    // bytes looked at for a newline, so that tests can tell the work done
}

// Prefix is what each output line of the guest (or replica) label starts
// with, the label padded to width so that the lines of several guests
// align: "greeting | ". One format for single mode, the split supervisor
// and the test harness.
func Prefix(label string, width int) string { return fmt.Sprintf("%-*s | ", width, label) }

// Writer returns a Writer that prefixes each line with prefix.
func (s *Sink) Writer(prefix string) *Writer { return &Writer{sink: s, prefix: prefix, max: MaxLine} }

// Escaping makes w write SaidEscaped in place of Said at the start of a
// line: for a guest's output in a split-mode child, whose host marks its
// own lines with Said.
func (w *Writer) Escaping() *Writer {
	w.escape = true
	return w
}

// Passing makes w write a line that starts with Said without the mark and
// without w's prefix: for a split-mode child's stderr in its supervisor,
// where such a line is the child's host's own. A line marked alike (see MarkAlike)
// that another child said last too is not written again.
func (w *Writer) Passing() *Writer {
	w.pass = true
	return w
}

// RecordWriter returns a Writer for lines that are JSON records already (a
// split-mode child's, under --log-format json): no prefix, and a record is
// cut only past MaxRecord, which the record of a piece of a line never is.
func (s *Sink) RecordWriter() *Writer { return &Writer{sink: s, max: MaxRecord} }

// Write implements io.Writer. A last line without a newline waits for more
// output, or for Flush; once it is longer than the bound, a piece of it is
// written.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n') // only new bytes: each is looked at once
		if i < 0 {
			w.scanned += len(p)
			w.add(p)
			break
		}
		w.scanned += i + 1
		w.add(p[:i])
		w.emit(len(w.buf))
		w.cut = false
		p = p[i+1:]
	}
	return n, nil
}

// add appends part of a line to buf, writing a piece each time buf is full
// and more of the line follows (so a line of exactly the bound comes out
// whole).
func (w *Writer) add(p []byte) {
	for len(p) > 0 {
		room := w.max - len(w.buf)
		if w.cut {
			room -= len(Continued)
		}
		if room == 0 {
			w.emit(runeCut(w.buf))
			w.cut = true
			continue
		}
		k := min(room, len(p))
		if len(w.buf)+k > cap(w.buf) {
			grown := make([]byte, len(w.buf), min(max(2*cap(w.buf), len(w.buf)+k, 512), w.max))
			copy(grown, w.buf)
			w.buf = grown
		}
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
	}
}

// runeCut is where to cut b, full, so that no UTF-8 character is split:
// before a last character that b has only part of.
func runeCut(b []byte) int {
	for i := len(b) - 1; i > 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}

// Flush writes out a last line that had no newline.
func (w *Writer) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(len(w.buf))
	}
	w.cut = false
}

// emit writes buf[:n] as a line, a piece of one when more follows, and
// keeps the rest of buf.
func (w *Writer) emit(n int) {
	if !w.cut && n > 0 && w.buf[0] == Said && w.pass {
		alike := n > 1 && w.buf[1] == Said
		w.out = append(append(w.out[:0], bytes.TrimLeft(w.buf[:n], string(Said))...), '\n')
		w.buf = w.buf[:copy(w.buf, w.buf[n:])]
		if !alike || w.sink.passSaid(w, alikeKey(w.out)) {
			w.sink.WriteLine(w.out)
		}
		return
	}
	out := append(w.out[:0], w.prefix...)
	if w.cut {
		out = append(out, Continued...)
	}
	line := w.buf[:n]
	if !w.cut && n > 0 && line[0] == Said && w.escape {
		out = append(out, SaidEscaped...)
		line = line[1:]
	}
	out = append(append(out, line...), '\n')
	w.out = out
	w.buf = w.buf[:copy(w.buf, w.buf[n:])]
	line = out[len(w.prefix):]
	if w.Seen != nil {
		w.Seen(line)
	}
	if w.format != nil {
		w.sink.WriteLine(w.format(line))
		return
	}
	w.sink.WriteLine(out)
}

// Buffer is a bytes.Buffer that several goroutines may write while another
// reads it: the runtime's tests give it to guests as their output.
type Buffer = syncbuf.Buffer
