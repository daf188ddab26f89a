package state

import (
	"bytes"
	"testing"
	"time"

	"parigot.dev/parigot/manifest"
	"parigot.dev/parigot/runtime/internal/abi"
)

// A topic with max_bytes keeps its newest messages within the bound,
// removing the oldest as new ones come, and publishing never fails for
// it; one with max_age has the stream remove what is older; a topic
// without either keeps every message. The bounds reach the engine from
// parigot.hcl.
func TestATopicKeepsWhatItsBoundsAllowAndNoMore(t *testing.T) {
	app := &manifest.App{Topics: []*manifest.Topic{
		{Name: "bounded", MaxBytes: 1 << 20, MaxAge: 720 * time.Hour},
		{Name: "kept"},
	}}
	_, topics := SpecsFromManifest(app)
	e, err := Open(t.Context(), memoryConn(t), Options{App: "test", Topics: topics, Memory: true, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)

	const published = 40
	value := bytes.Repeat([]byte("m"), 64<<10) // 40 of them: 2.5MiB
	w := newWaiter()
	for _, name := range []string{"bounded", "kept"} {
		topic := e.Endpoint(abi.OpenTopic, name)
		for i := range uint64(published) {
			if ev := w.do(t, topic, i+1, abi.OpPublish, abi.StateRequest{Value: value}); ev.Code != abi.CodeOK {
				t.Fatalf("publishing message %d to %s: %s", i+1, name, abi.ErrorMessage(ev.Payload))
			}
		}
	}

	bounded, err := e.JetStream().Stream(t.Context(), Stream("test", "bounded"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := bounded.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Bytes > 1<<20 || info.State.Msgs == 0 || info.State.LastSeq != published || info.State.FirstSeq == 1 {
		t.Errorf("topic bounded holds %d messages (%d to %d), %d bytes; want its newest, within 1MiB",
			info.State.Msgs, info.State.FirstSeq, info.State.LastSeq, info.State.Bytes)
	}
	if info.Config.MaxAge != 720*time.Hour {
		t.Errorf("topic bounded's stream keeps messages for %v, want 720h", info.Config.MaxAge)
	}

	kept, err := e.JetStream().Stream(t.Context(), Stream("test", "kept"))
	if err != nil {
		t.Fatal(err)
	}
	info, err = kept.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != published || info.Config.MaxAge != 0 {
		t.Errorf("topic kept holds %d messages, max age %v; want all %d, no max age", info.State.Msgs, info.Config.MaxAge, published)
	}
}
