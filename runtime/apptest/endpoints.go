package apptest

import (
	"bytes"
	"sync"
	"testing"

	"parigot.dev/parigot/runtime/internal/lines"
)

// testLog writes the services' output lines to the test's log, until the
// test's cleanup closes it: through TB.Output, which adds no file:line
// (that of this file, which would say nothing of the guest's line).
type testLog struct {
	t      testing.TB
	once   sync.Once
	sink   *lines.Sink
	mu     sync.Mutex
	buf    []byte
	closed bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return len(p), nil
	}
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.t.Output().Write(l.buf[:i+1])
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

// prefixed is a writer for one guest's output, whose lines it prefixes with
// the guest's label as `parigot run` does.
func (l *testLog) prefixed(label string) *lines.Writer {
	l.once.Do(func() { l.sink = lines.NewSink(l) })
	return l.sink.Writer(lines.Prefix(label, 0))
}

func (l *testLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.t.Output().Write(append(l.buf, '\n'))
	}
	l.closed = true
}
