package host

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"sync/atomic"
)

// console serialises the lines of every guest onto one writer.
type console struct {
	mu  sync.Mutex
	out io.Writer
}

// lineWriter prefixes each complete line a guest writes with the guest's name.
// It remembers whether the guest printed a Go panic or fatal error, so that the
// host can say "panicked" rather than "exited with status 2".
type lineWriter struct {
	c        *console
	prefix   string
	buf      []byte
	panicked atomic.Bool
	oom      atomic.Bool // the Go runtime said it ran out of memory
}

func newLineWriter(c *console, prefix string) *lineWriter {
	return &lineWriter{c: c, prefix: prefix}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(w.buf[:i+1])
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) emit(line []byte) {
	s := string(line)
	if strings.HasPrefix(s, "panic: ") || strings.HasPrefix(s, "fatal error: ") {
		w.panicked.Store(true)
	}
	if strings.HasPrefix(s, "runtime: out of memory") || strings.HasPrefix(s, "fatal error: out of memory") || strings.HasPrefix(s, "fatal error: runtime: out of memory") {
		w.oom.Store(true)
	}
	w.c.mu.Lock()
	io.WriteString(w.c.out, w.prefix)
	w.c.out.Write(line)
	w.c.mu.Unlock()
}

// flush writes out a last line that had no newline.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.emit(append(w.buf, '\n'))
		w.buf = nil
	}
}
