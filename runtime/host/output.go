package host

import (
	"bytes"
	"sync/atomic"

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
	panicked atomic.Bool
	oom      atomic.Bool
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
	if bytes.HasPrefix(line, []byte("panic: ")) || bytes.HasPrefix(line, []byte("fatal error: ")) {
		o.panicked.Store(true)
	}
	for _, p := range []string{"runtime: out of memory", "fatal error: out of memory", "fatal error: runtime: out of memory"} {
		if bytes.HasPrefix(line, []byte(p)) {
			o.oom.Store(true)
		}
	}
}
