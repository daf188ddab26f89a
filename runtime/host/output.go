package host

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"parigot.dev/parigot/runtime/internal/lines"
)

// guestOutput is one stream (stdout or stderr) of one run of a guest: its
// lines go to the console prefixed with the guest's name, and it remembers
// whether a line read as the Go runtime's report of a panic or of running out
// of memory. Any guest may print such a line; classify takes it as the cause
// only of an end that the Go runtime gives a guest it gave up on, so that the
// host can say "panicked" rather than "exited with code 2".
type guestOutput struct {
	*lines.Writer
	panicked   atomic.Bool
	oom        atomic.Bool
	deadlocked atomic.Bool
	// panicMessage is the value of the first panic the guest printed
	// ("panic: <value>"), for a dead letter's reason.
	panicMessage atomic.Pointer[string]
}

func newGuestOutput(sink *lines.Sink, prefix string, escapeSaid bool) *guestOutput {
	o := &guestOutput{Writer: sink.Writer(prefix)}
	if escapeSaid {
		o.Escaping() // the host's own lines start with lines.Said (Config.MarkSaid)
	}
	o.Seen = o.look
	return o
}

// jsonGuestOutput is a guestOutput whose lines are JSON objects (see
// Config.LogJSON), tagged by tag.
func jsonGuestOutput(sink *lines.Sink, guest, stream string, tag lines.Tag) *guestOutput {
	o := &guestOutput{Writer: sink.JSONWriter(guest, stream, tag)}
	o.Seen = o.look
	return o
}

// teeLines hands every line of o to Config.Lines too, as a JSON record.
func (r *run) teeLines(in *instance, o *guestOutput, stream string) {
	label := ReplicaLabel(in.spec.Name, r.cfg.Replica)
	o.Seen = func(line []byte) {
		o.look(line)
		r.cfg.Lines(lines.Record(label, stream, in.logTag, line))
	}
}

func (o *guestOutput) look(line []byte) {
	if v, ok := bytes.CutPrefix(line, []byte("panic: ")); ok {
		o.panicked.Store(true)
		if o.panicMessage.Load() == nil {
			m := panicValue(v)
			o.panicMessage.CompareAndSwap(nil, &m)
		}
	} else if bytes.HasPrefix(line, []byte("fatal error: ")) {
		o.panicked.Store(true)
	}
	if bytes.HasPrefix(line, []byte(goDeadlock)) {
		o.deadlocked.Store(true)
	}
	for _, p := range []string{"runtime: out of memory", "fatal error: out of memory", "fatal error: runtime: out of memory"} {
		if bytes.HasPrefix(line, []byte(p)) {
			o.oom.Store(true)
		}
	}
}

// maxPanicMessage bounds the panic's message a dead letter's reason
// carries: a header of every dead letter, not a log.
const maxPanicMessage = 200

// panicValue is the value of a panic's line, as a dead letter's reason
// gives it: one line of valid UTF-8, at most maxPanicMessage bytes (cut
// with "..."), without the runtime's " [recovered]".
func panicValue(v []byte) string {
	m := strings.ToValidUTF8(strings.TrimSpace(string(v)), "?")
	m = strings.TrimSuffix(m, " [recovered]")
	if len(m) > maxPanicMessage {
		cut := maxPanicMessage
		for cut > 0 && !utf8.RuneStart(m[cut]) {
			cut--
		}
		m = m[:cut] + "..."
	}
	return m
}

// panicMessage is the value of the first panic the guest printed on
// stdout or stderr, or "".
func panicMessage(outs ...*guestOutput) string {
	for _, o := range outs {
		if m := o.panicMessage.Load(); m != nil {
			return *m
		}
	}
	return ""
}

// goDeadlock is how the Go runtime says that every goroutine waits and none
// can run again.
const goDeadlock = "fatal error: all goroutines are asleep - deadlock!"

// OwnLines is where parigot's own lines go beside a run's (the CLI's
// notes: the dashboard's address, a tracing receiver that does not answer,
// JetStream's errors, the run's summary): w itself, or, with logJSON
// (--log-format json), w with each line made the JSON record the host
// writes its own reports as (guest "parigot"), so that every line on it is
// one record a machine can read.
func OwnLines(w io.Writer, logJSON bool) io.Writer {
	if !logJSON {
		return w
	}
	return &ownJSON{w: w}
}

// OwnLogger is the logger of parigot's own warnings beside a run (a guest
// that did not stop in time, a compilation cache it cannot use), on w:
// slog's text lines, each made a record by OwnLines with logJSON, which
// then has the time the record gives it rather than slog's.
func OwnLogger(w io.Writer, logJSON bool) *slog.Logger {
	if !logJSON {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(OwnLines(w, true), &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// ownJSON writes each complete line written to it to w as a JSON record;
// a line's start waits for its end.
type ownJSON struct {
	mu      sync.Mutex
	w       io.Writer
	pending []byte
}

func (o *ownJSON) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pending = append(o.pending, p...)
	for {
		i := bytes.IndexByte(o.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		if _, err := o.w.Write(lines.JSONLine("parigot", "stderr", o.pending[:i+1])); err != nil {
			return len(p), err
		}
		o.pending = o.pending[i+1:]
	}
}
