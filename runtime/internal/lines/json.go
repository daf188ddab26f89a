package lines

import (
	"bytes"
	"encoding/json"
	"time"
)

// Tag says what a guest is doing as it writes a line, for a JSON line's
// fields: the call it serves (its method) and that call's trace and span
// ids (hex), each empty when unknown.
type Tag func() (method, traceID, spanID string)

// JSONWriter returns a Writer that turns each line of guest's stream
// ("stdout", "stderr") into one JSON object: time, guest, stream, the
// tag's fields when known, and the line as msg. A line that is a JSON
// object already (a guest logging with slog's JSONHandler) keeps its own
// fields, after the host's, and its own time. tag may be nil. A line
// longer than MaxLine is cut as a Writer cuts it, each piece a record whose
// msg is the piece (Continued first, after the first piece).
func (s *Sink) JSONWriter(guest, stream string, tag Tag) *Writer {
	w := &Writer{sink: s, max: MaxLine}
	w.format = func(line []byte) []byte { return jsonLine(time.Now(), guest, stream, tag, line) }
	return w
}

// Record is line of guest's stream as the JSON object a JSONWriter with tag
// would write.
func Record(guest, stream string, tag Tag, line []byte) []byte {
	return jsonLine(time.Now(), guest, stream, tag, line)
}

// JSONLine is line, said by who (a guest, or "parigot" for the host's own
// reports), as the one JSON object a JSONWriter would write.
func JSONLine(who, stream string, line []byte) []byte {
	return jsonLine(time.Now(), who, stream, nil, line)
}

// jsonLine is one line of output as a JSON object, ending in a newline.
func jsonLine(at time.Time, guest, stream string, tag Tag, line []byte) []byte {
	line = bytes.TrimRight(line, "\r\n")
	var own map[string]json.RawMessage // the guest's object, when the line is one
	if t := bytes.TrimSpace(line); len(t) > 2 && t[0] == '{' && json.Unmarshal(t, &own) != nil {
		own = nil
	}
	out := []byte(`{"guest":`)
	out = appendJSON(out, guest)
	if _, ok := own["time"]; !ok { // slog's JSONHandler writes its own
		out = append(out, `,"time":`...)
		out = appendJSON(out, at.UTC().Format(time.RFC3339Nano))
	}
	out = append(out, `,"stream":`...)
	out = appendJSON(out, stream)
	if tag != nil {
		method, traceID, spanID := tag()
		for _, f := range [][2]string{{"method", method}, {"trace_id", traceID}, {"span_id", spanID}} {
			if f[1] != "" {
				out = append(out, `,"`+f[0]+`":`...)
				out = appendJSON(out, f[1])
			}
		}
	}
	if own != nil {
		t := bytes.TrimSpace(line)
		if inner := bytes.TrimSpace(t[1 : len(t)-1]); len(inner) > 0 {
			out = append(out, ',')
			out = append(out, inner...)
		}
		return append(out, "}\n"...)
	}
	out = append(out, `,"msg":`...)
	out = appendJSON(out, string(line))
	return append(out, "}\n"...)
}

func appendJSON(out []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(out, b...)
}
