// Package lines interleaves the output of many guests line by line: each
// guest's stream goes through a Writer that cuts it into whole lines and
// prefixes them ("greeting | "), and a Sink writes whole lines, one at a
// time, to the terminal or log they share. Single mode, split mode's
// supervisor and the test harness all show guest output this way.
package lines

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// Sink writes whole lines from many Writers to one io.Writer, one line at a
// time.
type Sink struct {
	mu sync.Mutex
	w  io.Writer
}

// NewSink returns a Sink writing to w.
func NewSink(w io.Writer) *Sink { return &Sink{w: w} }

// WriteLine writes line, which should end in a newline, in one piece.
func (s *Sink) WriteLine(line []byte) {
	s.mu.Lock()
	s.w.Write(line)
	s.mu.Unlock()
}

// Writer cuts what is written to it into lines and hands each to its Sink
// with the prefix in front. It is safe for concurrent use.
type Writer struct {
	sink   *Sink
	prefix string
	// Seen, when set, is called with every line (without the prefix)
	// before it is written.
	Seen func(line []byte)
	// format, when set, makes the whole line written instead of the prefix
	// and the line (see JSONWriter).
	format func(line []byte) []byte

	mu  sync.Mutex
	buf []byte
}

// Prefix is what each output line of the guest (or replica) label starts
// with, the label padded to width so that the lines of several guests
// align: "greeting | ". One format for single mode, the split supervisor
// and the test harness.
func Prefix(label string, width int) string { return fmt.Sprintf("%-*s | ", width, label) }

// Writer returns a Writer that prefixes each line with prefix.
func (s *Sink) Writer(prefix string) *Writer { return &Writer{sink: s, prefix: prefix} }

// Write implements io.Writer. A last line without a newline waits for more
// output, or for Flush.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.emit(w.buf[:i+1])
		w.buf = w.buf[i+1:]
	}
}

// Flush writes out a last line that had no newline.
func (w *Writer) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(append(w.buf, '\n'))
		w.buf = nil
	}
}

func (w *Writer) emit(line []byte) {
	if w.Seen != nil {
		w.Seen(line)
	}
	if w.format != nil {
		w.sink.WriteLine(w.format(line))
		return
	}
	out := make([]byte, 0, len(w.prefix)+len(line))
	out = append(append(out, w.prefix...), line...)
	w.sink.WriteLine(out)
}

// Buffer is a bytes.Buffer that several goroutines may write while another
// reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
