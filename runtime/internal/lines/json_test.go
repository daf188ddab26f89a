package lines

import (
	"encoding/json"
	"testing"
	"time"
)

func TestJSONLine(t *testing.T) {
	at := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	tag := func() (string, string, string) { return "greeting.v1.Greeting/FetchGreeting", "0102", "" }
	for _, tc := range []struct {
		name, line string
		tag        Tag
		want       map[string]any
	}{
		{"a plain line becomes msg", "Hello, \"world\"\n", nil,
			map[string]any{"time": "2026-11-26T03:00:00Z", "guest": "hello", "stream": "stdout", "msg": "Hello, \"world\""}},
		{"the tag's known fields are added", "serving\n", tag,
			map[string]any{"time": "2026-11-26T03:00:00Z", "guest": "hello", "stream": "stdout", "msg": "serving",
				"method": "greeting.v1.Greeting/FetchGreeting", "trace_id": "0102"}},
		{"a guest's own JSON keeps its fields", `{"level":"INFO","msg":"fetched","n":3}` + "\n", nil,
			map[string]any{"time": "2026-11-26T03:00:00Z", "guest": "hello", "stream": "stdout", "level": "INFO", "msg": "fetched", "n": 3.0}},
		{"a guest's own time is kept", `{"time":"2026-01-01T00:00:00Z","msg":"x"}` + "\n", nil,
			map[string]any{"time": "2026-01-01T00:00:00Z", "guest": "hello", "stream": "stdout", "msg": "x"}},
		{"a line that only looks like JSON is a msg", "{not json}\n", nil,
			map[string]any{"time": "2026-11-26T03:00:00Z", "guest": "hello", "stream": "stdout", "msg": "{not json}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := jsonLine(at, "hello", "stdout", tc.tag, []byte(tc.line))
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s is not JSON: %v", out, err)
			}
			if len(got) != len(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v (line %s)", k, got[k], v, out)
				}
			}
			if out[len(out)-1] != '\n' {
				t.Errorf("%q does not end in a newline", out)
			}
		})
	}
}
