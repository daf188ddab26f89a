package main

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"parigot.dev/parigot/builder"
)

// deadLettersMessages compiles the protos of the deadletters app, as
// parigot state does, with no build of it.
func deadLettersMessages(t *testing.T) *topicDecoder {
	t.Helper()
	const dir = "testdata/apps/deadletters"
	app, err := builder.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := newTopicDecoder(t.Context(), app, dir, "news")
	if m.err != nil {
		t.Fatal(m.err)
	}
	return m
}

// TestAMessageOfATopicIsShownAsItsSubscribersRequest decodes what a dead
// letter of topic news holds as test.Note, the request of the method
// sink's subscription names: a Note as protobuf JSON, anything else in
// base64 with why, never an error.
func TestAMessageOfATopicIsShownAsItsSubscribersRequest(t *testing.T) {
	m := deadLettersMessages(t)
	note := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "hello")
	withMore := protowire.AppendVarint(protowire.AppendTag(note, 7, protowire.VarintType), 3)
	for _, c := range []struct {
		name, subscriber string
		data             []byte
		typ, json, why   string
	}{
		{name: "a Note is shown as JSON", subscriber: "sink", data: note, typ: "test.Note", json: `{"text":"hello"}`},
		{name: "an empty Note shows its fields' zero values", subscriber: "sink", data: nil, typ: "test.Note", json: `{"text":""}`},
		{name: "text is not a Note", subscriber: "sink", data: []byte("hello"), typ: "test.Note",
			why: "not a test.Note: proto: cannot parse invalid wire-format data"},
		{name: "fields a Note does not declare are said", subscriber: "sink", data: withMore, typ: "test.Note", json: `{"text":"hello"}`,
			why: "2 bytes of fields test.Note does not declare are not shown (a newer version of its proto, or another message)"},
		{name: "a subscriber the manifest no longer has says no type", subscriber: "audit", data: note,
			why: "not decoded: audit does not subscribe to topic news in testdata/apps/deadletters/parigot.hcl, which would say the message's type"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := m.show(c.subscriber, c.data)
			// protobuf's errors vary their spaces, to be read, not matched.
			got.Why = strings.ReplaceAll(got.Why, "\u00a0", " ")
			if got.Type != c.typ || string(got.JSON) != c.json || got.Why != c.why {
				t.Errorf("show: type %q, JSON %s, why %q\nwant type %q, JSON %s, why %q", got.Type, got.JSON, got.Why, c.typ, c.json, c.why)
			}
		})
	}
}

// TestAMessageIsNamedInFull finds the messages --as names, and says the
// nearest of a name that is none.
func TestAMessageIsNamedInFull(t *testing.T) {
	types := deadLettersMessages(t).types
	for _, c := range []struct{ name, err string }{
		{name: "test.Note"},
		{name: "google.protobuf.StringValue"},
		{name: "test.Nte", err: "test.Nte is no message of the protos of deadletters: did you mean test.Note?"},
		{name: "Note", err: "Note is no message of the protos of deadletters: did you mean test.Note? (a message is named in full, with its package)"},
		{name: "test.Sink", err: "test.Sink is no message of the protos of deadletters (its messages: test.Note)"},
	} {
		md, err := types.message(c.name)
		switch {
		case c.err == "" && (err != nil || string(md.FullName()) != c.name):
			t.Errorf("message %s: %v", c.name, err)
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("message %s: %v, want %q", c.name, err, c.err)
		}
	}
}
