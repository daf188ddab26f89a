package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protowire"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/internal/otlptest"
	"parigot.dev/parigot/runtime/state"
)

// stateCommand runs parigot state args (in this process) and returns its
// stdout, its stderr and its exit code.
func stateCommand(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = parigot(append([]string{"state"}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

// deadHello is the row of parigot state dead for the deadletters app's
// message, refused twice by sink; its first submatch is the SEQ.
var deadHello = regexp.MustCompile(`(?m)^(\d+) +1 +sink +2 +7 B +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +internal: refused hello, as told$`)

// deadHelloInFull is what parigot state dead news SEQ prints of the same
// dead letter: its message as a test.Note, the request of sink's Take.
func deadHelloInFull(seq string) *regexp.Regexp {
	return regexp.MustCompile(`^dead letter  ` + seq + ` of topic news
message      1
subscriber   sink
attempts     2
time         \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC
error        internal: refused hello, as told
(trace        [0-9a-f]{32}
)?test\.Note \(7 B\):
\{
  "text": "hello"
\}
$`)
}

// compactJSON is j without the spaces between its tokens.
func compactJSON(t *testing.T, j []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, j); err != nil {
		t.Errorf("%s: %v", j, err)
	}
	return b.String()
}

// TestStateListsAndRedeliversDeadLetters runs an app whose subscriber
// refuses a message until it is dead-lettered, stops it, and then
// parigot state reads the data directory: it lists the dead letter, the
// store's keys and values, and redelivers the message, which a second
// run's subscriber then takes.
func TestStateListsAndRedeliversDeadLetters(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	const app = "testdata/apps/deadletters"
	data := t.TempDir()
	where := []string{"--app", app, "--data", data}

	p := startParigot(t, "", nil, "run", "--data", data, app)
	p.waitFor(t, &p.stderr, regexp.MustCompile(`^parigot: service sink: message 1 of topic news dead-lettered after 2 attempts`), 1)
	p.signal(syscall.SIGINT)
	p.wantInterrupted(t, p.wait(t))
	if _, err := os.Stat(filepath.Join(data, ".parigot.live")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("how to reach the run's server, after Ctrl-C ended it: %v, want it removed", err)
	}

	stdout, stderr, code := stateCommand(t, append([]string{"dead", "news"}, where...)...)
	m := deadHello.FindStringSubmatch(stdout)
	if code != 0 || !strings.HasPrefix(stdout, "SEQ  MESSAGE  SUBSCRIBER  ATTEMPTS  SIZE  TIME") || m == nil || strings.Count(stdout, "\n") != 2 {
		t.Fatalf("state dead: exit %d, stdout:\n%s\nstderr:\n%s\nwant a header and one row matching %s", code, stdout, stderr, deadHello)
	}
	seq := m[1]
	stdout, _, _ = stateCommand(t, append([]string{"dead", "news", "--json"}, where...)...)
	var dead []deadLetter
	if err := json.Unmarshal([]byte(stdout), &dead); err != nil || len(dead) != 1 || strconv.FormatUint(dead[0].Seq, 10) != seq ||
		len(dead[0].Data) != 7 || dead[0].Subscriber != "sink" || dead[0].Attempts != 2 ||
		dead[0].Type != "test.Note" || compactJSON(t, dead[0].JSON) != `{"text":"hello"}` || dead[0].Why != "" {
		t.Errorf("state dead --json: %v\n%s\nwant the message as a test.Note beside its bytes", err, stdout)
	}
	stdout, stderr, code = stateCommand(t, append([]string{"dead", "news", seq}, where...)...)
	if want := deadHelloInFull(seq); code != 0 || !want.MatchString(stdout) {
		t.Errorf("state dead news %s: exit %d, stdout:\n%s\nstderr:\n%s\nwant it matching\n%s", seq, code, stdout, stderr, want)
	}

	if stdout, stderr, code := stateCommand(t, append([]string{"keys", "kv"}, where...)...); code != 0 || stdout != "bin\nnote\nsent\ntries.hello\n" {
		t.Errorf("state keys kv: exit %d\n%s%s", code, stdout, stderr)
	}
	if stdout, stderr, code := stateCommand(t, append([]string{"get", "kv", "note", "--as", "test.Note"}, where...)...); code != 0 || stdout != "{\n  \"text\": \"kept\"\n}\n" || stderr != "" {
		t.Errorf("state get kv note --as test.Note: exit %d\n%s%s", code, stdout, stderr)
	}
	stdout, stderr, code = stateCommand(t, append([]string{"get", "kv", "sent", "--as", "test.Note"}, where...)...)
	if want := regexp.MustCompile(`^parigot: the value of key sent of store kv is not a test.Note: proto:.* \(it is printed as text\)\n$`); code != exitFailure || stdout != "yes\n" || !want.MatchString(stderr) {
		t.Errorf("state get kv sent --as test.Note: exit %d\n%s%s\nwant exit 1, the value as text, and %s", code, stdout, stderr, want)
	}
	if stdout, _, code := stateCommand(t, append([]string{"keys", "kv", "tries.*"}, where...)...); code != 0 || stdout != "tries.hello\n" {
		t.Errorf("state keys kv tries.*: exit %d\n%s", code, stdout)
	}
	if stdout, stderr, code := stateCommand(t, append([]string{"get", "kv", "tries.hello"}, where...)...); code != 0 || stdout != "2\n" || stderr != "" {
		t.Errorf("state get kv tries.hello: exit %d\n%s%s", code, stdout, stderr)
	}
	if stdout, stderr, code := stateCommand(t, append([]string{"get", "kv", "bin"}, where...)...); code != 0 || stdout != "/wAB\n" ||
		stderr != "parigot: the value of key bin (3 bytes) is not UTF-8 text: it is printed in base64\n" {
		t.Errorf("state get kv bin: exit %d\n%s%s", code, stdout, stderr)
	}
	stdout, _, _ = stateCommand(t, append([]string{"get", "kv", "sent", "--json"}, where...)...)
	var v storeValue
	if err := json.Unmarshal([]byte(stdout), &v); err != nil || v.Value != "yes" || v.Encoding != "text" || v.Revision == 0 || v.Written.IsZero() {
		t.Errorf("state get --json: %v\n%s", err, stdout)
	}
	if _, stderr, code := stateCommand(t, append([]string{"get", "kv", "nothing"}, where...)...); code != exitFailure || stderr != "parigot: key nothing of store kv holds nothing\n" {
		t.Errorf("state get of a key that holds nothing: exit %d\n%s", code, stderr)
	}

	// --dry-run does nothing.
	stdout, _, code = stateCommand(t, append([]string{"redeliver", "news", "--dry-run"}, where...)...)
	if want := "dead letter " + seq + " (message 1, subscriber sink): would be published again to topic news\n"; code != 0 || stdout != want {
		t.Errorf("redeliver --dry-run: exit %d\n%s\nwant %s", code, stdout, want)
	}
	if _, stderr, code := stateCommand(t, append([]string{"redeliver", "news", "99"}, where...)...); code != exitFailure || stderr != "parigot: topic news has no dead letter 99 (its dead letters: "+seq+")\n" {
		t.Errorf("redeliver of a dead letter that is none: exit %d\n%s", code, stderr)
	}
	stdout, stderr, code = stateCommand(t, append([]string{"redeliver", "news", seq}, where...)...)
	if want := regexp.MustCompile(`^dead letter ` + seq + ` \(message 1, subscriber sink\): published again as message \d+; removed from the dead letters\n$`); code != 0 || !want.MatchString(stdout) {
		t.Errorf("redeliver: exit %d\n%s%s\nwant %s", code, stdout, stderr, want)
	}
	if stdout, _, code := stateCommand(t, append([]string{"dead", "news"}, where...)...); code != 0 || stdout != "topic news has no dead letters\n" {
		t.Errorf("state dead after redeliver: exit %d\n%s", code, stdout)
	}
	// The topic keeps the message twice: as sink took it (and let it
	// die) in the first run, and as published again, which sink has
	// not taken yet.
	redelivered := regexp.MustCompile(`^SEQ +SIZE +TIME +WAITING FOR
1 +7 B +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +-
(\d+) +7 B +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +sink
$`)
	stdout, stderr, code = stateCommand(t, append([]string{"messages", "news"}, where...)...)
	m = redelivered.FindStringSubmatch(stdout)
	if code != 0 || m == nil || stderr != "" {
		t.Fatalf("state messages news after redeliver: exit %d, stdout:\n%s\nstderr:\n%s\nwant it matching\n%s", code, stdout, stderr, redelivered)
	}
	again := m[1]
	stdout, stderr, code = stateCommand(t, append([]string{"messages", "news", "--limit", "1", "--full"}, where...)...)
	if want := regexp.MustCompile(`^message +` + again + ` of topic news
time +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC
waiting for +sink
(trace +[0-9a-f]{32}
)?test\.Note \(7 B\):
\{
  "text": "hello"
\}
$`); code != 0 || !want.MatchString(stdout) || stderr != "parigot: the newest 1 of the 2 messages topic news keeps (--limit 0 lists all)\n" {
		t.Errorf("state messages news --limit 1 --full: exit %d, stdout:\n%s\nstderr:\n%s\nwant it matching\n%s", code, stdout, stderr, want)
	}
	stdout, _, _ = stateCommand(t, append([]string{"messages", "news", "--json"}, where...)...)
	var kept []topicMessage
	if err := json.Unmarshal([]byte(stdout), &kept); err != nil || len(kept) != 2 || len(kept[0].Waiting) != 0 ||
		!slices.Equal(kept[1].Waiting, []string{"sink"}) || kept[1].Type != "test.Note" || compactJSON(t, kept[1].JSON) != `{"text":"hello"}` {
		t.Errorf("state messages news --json: %v\n%s\nwant two messages, the second waiting for sink, as test.Notes", err, stdout)
	}

	// The next run's subscriber takes it, the third time it is delivered.
	p = startParigot(t, "", nil, "run", "--data", data, app)
	if err := p.wait(t); err != nil || !strings.Contains(p.stdout.String(), "sender | hello was taken\n") {
		t.Fatalf("the second run: %v\n%s", err, p.said())
	}
	if stdout, _, code := stateCommand(t, append([]string{"get", "kv", "done.hello"}, where...)...); code != 0 || stdout != "hello\n" {
		t.Errorf("state get kv done.hello after the second run: exit %d\n%s", code, stdout)
	}
	if stdout, _, code := stateCommand(t, append([]string{"messages", "news"}, where...)...); code != 0 || !strings.HasSuffix(stdout, " -\n") || strings.Contains(stdout, "sink") {
		t.Errorf("state messages news after the second run: exit %d\n%s\nwant every message taken", code, stdout)
	}
}

// TestStateReadsAnOperatorsServer runs parigot state against a NATS
// server of its own, as an operator's, with a user and password.
func TestStateReadsAnOperatorsServer(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		Username: "ops", Password: "secret", NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(time.Minute) {
		t.Fatal("the NATS server did not start")
	}
	t.Cleanup(ns.Shutdown)
	const appDir = "testdata/apps/deadletters"
	app, err := builder.Load(appDir)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(ns.ClientURL(), nats.UserInfo("ops", "secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	stores, topics := state.SpecsFromManifest(app)
	e, err := state.Open(t.Context(), nc, state.Options{App: app.Name, Stores: stores, Topics: topics, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	kv, err := e.JetStream().KeyValue(t.Context(), state.Bucket(app.Name, "kv"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), "greeting", []byte("hi there")); err != nil {
		t.Fatal(err)
	}
	where := []string{"--app", appDir, "--nats", ns.ClientURL()}
	stdout, stderr, code := stateCommand(t, append([]string{"get", "kv", "greeting", "--nats-user", "ops:secret"}, where...)...)
	if code != 0 || stdout != "hi there\n" {
		t.Errorf("state get --nats: exit %d\n%s%s", code, stdout, stderr)
	}
	stdout, stderr, code = stateCommand(t, append([]string{"dead", "news", "--nats-user", "ops:secret"}, where...)...)
	if code != 0 || stdout != "topic news has no dead letters\n" {
		t.Errorf("state dead --nats: exit %d\n%s%s", code, stdout, stderr)
	}

	// Messages of the topic's type and of others, dead-lettered: each is
	// shown as it can be, and none hides the others.
	note := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "hello")
	if _, err := kv.Put(t.Context(), "note", note); err != nil {
		t.Fatal(err)
	}
	for i, d := range []struct {
		subscriber string
		data       []byte
	}{{"sink", note}, {"sink", []byte("hello")}, {"audit", note}} {
		m := nats.NewMsg(state.DeadSubject(app.Name, "news"))
		m.Data = d.data
		m.Header.Set(state.HeaderDeadGuest, d.subscriber)
		m.Header.Set(state.HeaderDeadSequence, strconv.Itoa(i+1))
		m.Header.Set(state.HeaderDeadAttempts, "2")
		m.Header.Set(state.HeaderDeadError, "internal: refused")
		if _, err := e.JetStream().PublishMsg(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	stdout, stderr, code = stateCommand(t, append([]string{"dead", "news", "1", "2", "3", "--nats-user", "ops:secret"}, where...)...)
	for _, want := range []string{
		"attempts     2\n",
		"test.Note (7 B):\n{\n  \"text\": \"hello\"\n}\n\n",
		"5 B in base64 (not a test.Note: proto:",
		"aGVsbG8=\n\n",
		"7 B in base64 (not decoded: audit does not subscribe to topic news in testdata/apps/deadletters/parigot.hcl, which would say the message's type):\nCgVoZWxsbw==\n",
	} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("state dead news 1 2 3 --nats: exit %d\n%s%s\nwant it to hold %q", code, stdout, stderr, want)
		}
	}
	stdout, _, _ = stateCommand(t, append([]string{"dead", "news", "--json", "--nats-user", "ops:secret"}, where...)...)
	var dead []deadLetter
	if err := json.Unmarshal([]byte(stdout), &dead); err != nil || len(dead) != 3 ||
		compactJSON(t, dead[0].JSON) != `{"text":"hello"}` || dead[1].JSON != nil || !strings.HasPrefix(dead[1].Why, "not a test.Note: proto:") ||
		string(dead[1].Data) != "hello" || dead[2].Type != "" || dead[2].JSON != nil {
		t.Errorf("state dead --json --nats: %v\n%s\nwant the first decoded, the other two in base64 with why", err, stdout)
	}
	stdout, stderr, code = stateCommand(t, append([]string{"get", "kv", "note", "--as", "test.Note", "--json", "--nats-user", "ops:secret"}, where...)...)
	var v storeValue
	if err := json.Unmarshal([]byte(stdout), &v); err != nil || code != 0 || v.Type != "test.Note" || compactJSON(t, v.JSON) != `{"text":"hello"}` || v.Encoding != "base64" {
		t.Errorf("state get kv note --as test.Note --json --nats: exit %d, %v\n%s%s", code, err, stdout, stderr)
	}

	// Store notes declares its values Notes: get shows them as Notes
	// without --as, a value that is none as it is, failing with why, and
	// --as overrides the declared type.
	notes, err := e.JetStream().KeyValue(t.Context(), state.Bucket(app.Name, "notes"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := notes.Put(t.Context(), "hello", note); err != nil {
		t.Fatal(err)
	}
	if _, err := notes.Put(t.Context(), "text", []byte("plain")); err != nil {
		t.Fatal(err)
	}
	where = append(where, "--nats-user", "ops:secret")
	if stdout, stderr, code := stateCommand(t, append([]string{"get", "notes", "hello"}, where...)...); code != 0 || stdout != "{\n  \"text\": \"hello\"\n}\n" || stderr != "" {
		t.Errorf("state get notes hello: exit %d\n%s%s\nwant the Note as JSON", code, stdout, stderr)
	}
	stdout, stderr, code = stateCommand(t, append([]string{"get", "notes", "text"}, where...)...)
	if want := regexp.MustCompile(`^parigot: the value of key text of store notes is not a test.Note: proto:.* \(it is printed as text\)\n$`); code != exitFailure || stdout != "plain\n" || !want.MatchString(stderr) {
		t.Errorf("state get notes text: exit %d\n%s%s\nwant exit 1, the value as text, and %s", code, stdout, stderr, want)
	}
	stdout, stderr, code = stateCommand(t, append([]string{"get", "notes", "hello", "--json"}, where...)...)
	v = storeValue{}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil || code != 0 || v.Type != "test.Note" || compactJSON(t, v.JSON) != `{"text":"hello"}` {
		t.Errorf("state get notes hello --json: exit %d, %v\n%s%s\nwant the Note beside its bytes", code, err, stdout, stderr)
	}
	stdout, stderr, code = stateCommand(t, append([]string{"get", "notes", "hello", "--as", "google.protobuf.StringValue"}, where...)...)
	if code != 0 || stdout != "\"hello\"\n" {
		t.Errorf("state get notes hello --as google.protobuf.StringValue: exit %d\n%s%s\nwant it shown as --as says", code, stdout, stderr)
	}
	if stdout, stderr, code := stateCommand(t, append([]string{"keys", "notes"}, where...)...); code != 0 || stdout != "hello\ntext\n" {
		t.Errorf("state keys notes: exit %d\n%s%s", code, stdout, stderr)
	}

	where = where[:len(where)-2]
	if _, stderr, code := stateCommand(t, append([]string{"keys", "kv", "--nats-user", "ops:wrong"}, where...)...); code != exitFailure || !strings.Contains(stderr, "the server refused the credentials") {
		t.Errorf("state keys with a wrong password: exit %d\n%s", code, stderr)
	}
}

// TestStateJoinsARunningApp runs the deadletters app, in one process and
// in one process per guest, with tracing on, and while it runs, its
// message dead-lettered: parigot state joins the run's server, as the
// run says in its data directory (a file only its user may read), lists
// the dead letter (all of them, and those of a subscriber), the store's
// keys and a value, and redelivers the message, which the running
// subscriber then takes, so that the program ends. The run takes the file
// away as it ends. The delivery of the message published again is in the
// trace of the call that published it, beside the two that failed.
func TestStateJoinsARunningApp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	const app = "testdata/apps/deadletters"
	for _, mode := range []string{"single", "split"} {
		t.Run(mode, func(t *testing.T) {
			rcv := otlptest.Start(t)
			data := t.TempDir()
			where := []string{"--app", app, "--data", data}
			p := startParigot(t, "", nil, "run", "--mode="+mode, "--data", data, "--otlp", rcv.URL(), app)
			p.waitFor(t, &p.stderr, regexp.MustCompile(`^parigot: service sink: message 1 of topic news dead-lettered after 2 attempts`), 1)
			if fi, err := os.Stat(filepath.Join(data, ".parigot.live")); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("how to reach the run's server: %v, %v; want a file in the data directory that only its user may read", fi, err)
			}

			stdout, stderr, code := stateCommand(t, append([]string{"dead", "news"}, where...)...)
			m := deadHello.FindStringSubmatch(stdout)
			if code != 0 || m == nil || strings.Count(stdout, "\n") != 2 {
				t.Fatalf("state dead while the app runs: exit %d, stdout:\n%s\nstderr:\n%s\nwant a header and one row matching %s", code, stdout, stderr, deadHello)
			}
			seq := m[1]
			if got, stderr, code := stateCommand(t, append([]string{"dead", "news", "--subscriber", "sink"}, where...)...); code != 0 || got != stdout {
				t.Errorf("state dead --subscriber sink: exit %d\n%s%s\nwant\n%s", code, got, stderr, stdout)
			}
			if _, stderr, code := stateCommand(t, append([]string{"dead", "news", "--subscriber", "snk"}, where...)...); code != exitFailure || stderr != "parigot: snk is no subscriber of topic news: did you mean sink?\n" {
				t.Errorf("state dead --subscriber snk: exit %d\n%s", code, stderr)
			}
			if got, stderr, code := stateCommand(t, append([]string{"dead", "news", seq}, where...)...); code != 0 || !deadHelloInFull(seq).MatchString(got) {
				t.Errorf("state dead news %s while the app runs: exit %d\n%s%s", seq, code, got, stderr)
			}
			if stdout, stderr, code := stateCommand(t, append([]string{"keys", "kv"}, where...)...); code != 0 || stdout != "bin\nnote\nsent\ntries.hello\n" {
				t.Errorf("state keys kv while the app runs: exit %d\n%s%s", code, stdout, stderr)
			}
			if stdout, stderr, code := stateCommand(t, append([]string{"get", "kv", "tries.hello"}, where...)...); code != 0 || stdout != "2\n" || stderr != "" {
				t.Errorf("state get kv tries.hello while the app runs: exit %d\n%s%s", code, stdout, stderr)
			}
			stdout, _, _ = stateCommand(t, append([]string{"dead", "news", "--json"}, where...)...)
			var dead []deadLetter
			if err := json.Unmarshal([]byte(stdout), &dead); err != nil || len(dead) != 1 || len(dead[0].Trace) != 32 {
				t.Errorf("state dead --json: %v\n%s\nwant the dead letter with the id of its trace", err, stdout)
			}

			stdout, stderr, code = stateCommand(t, append([]string{"redeliver", "news"}, where...)...)
			if want := regexp.MustCompile(`^dead letter ` + seq + ` \(message 1, subscriber sink\): published again as message \d+; removed from the dead letters\n$`); code != 0 || !want.MatchString(stdout) {
				t.Errorf("redeliver while the app runs: exit %d\n%s%s\nwant %s", code, stdout, stderr, want)
			}
			if err := p.wait(t); err != nil || !strings.Contains(p.stdout.String(), "hello was taken\n") {
				t.Fatalf("the run, once its message was redelivered: %v, want it to end as the sink takes it\n%s", err, p.said())
			}
			if _, err := os.Stat(filepath.Join(data, ".parigot.live")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("how to reach the run's server, after the run ended: %v, want it removed", err)
			}

			t.Run("the redelivered message is in the trace of the call that published it", func(t *testing.T) {
				const send, take = "test.Sink/Send", "test.Sink/Take"
				byName := map[string][]otlptest.Span{}
				rcv.WaitFor(t, patienceForParigot, func(spans []otlptest.Span) bool {
					clear(byName)
					for _, s := range spans {
						byName[s.Name] = append(byName[s.Name], s)
					}
					return len(byName[send]) == 1 && len(byName[take]) == 3
				})
				published, failed := byName[send][0], 0
				for _, s := range byName[take] {
					if s.TraceID != published.TraceID || s.ParentID != published.SpanID {
						t.Errorf("a delivery of the message (failed: %v) is in trace %s with parent %s; want it in the trace %s of Send, as its child", s.Error, s.TraceID, s.ParentID, published.TraceID)
					}
					if s.Error {
						failed++
					}
				}
				if failed != 2 {
					t.Errorf("%d of the three deliveries failed, want the two before the dead letter", failed)
				}
				if len(dead) == 1 && dead[0].Trace != published.TraceID {
					t.Errorf("state dead --json gave trace %s, want %s, Send's", dead[0].Trace, published.TraceID)
				}
			})
		})
	}
}

// TestStateReadsTheDataOfAKilledRun kills a run: the file by which it said
// how to reach its server stays behind, and parigot state, finding no run
// that holds the directory, trusts it not, reads the directory itself and
// removes the file.
func TestStateReadsTheDataOfAKilledRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	const app = "testdata/apps/deadletters"
	data := t.TempDir()
	live := filepath.Join(data, ".parigot.live")
	p := startParigot(t, "", nil, "run", "--data", data, app)
	p.waitFor(t, &p.stderr, regexp.MustCompile(`^parigot: service sink: message 1 of topic news dead-lettered after 2 attempts`), 1)
	p.signal(syscall.SIGKILL)
	p.wait(t)
	if _, err := os.Stat(live); err != nil {
		t.Fatalf("the killed run's file: %v, want it left behind", err)
	}
	stdout, stderr, code := stateCommand(t, "dead", "news", "--app", app, "--data", data)
	if code != 0 || !deadHello.MatchString(stdout) {
		t.Errorf("state dead after the run was killed: exit %d, stdout:\n%s\nstderr:\n%s\nwant a row matching %s", code, stdout, stderr, deadHello)
	}
	if _, err := os.Stat(live); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the killed run's file after parigot state read the directory: %v, want it removed", err)
	}
}

// TestStateNamesARunThatSaysNoWayToReachIt holds a data directory as a
// run that has not said how to reach its server yet (one starting):
// parigot state names the process and says what to do.
func TestStateNamesARunThatSaysNoWayToReachIt(t *testing.T) {
	data := t.TempDir()
	_, release, err := state.JetStreamDir(data, false)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	_, stderr, code := stateCommand(t, "dead", "news", "--app", "testdata/apps/deadletters", "--data", data)
	want := "parigot: the data directory " + data + " is in use by another parigot run (process " + strconv.Itoa(os.Getpid()) + "), which says no way to reach its JetStream server"
	if code != exitFailure || !strings.HasPrefix(stderr, want) || !strings.Contains(stderr, "try again in a moment") {
		t.Errorf("state on a directory held by a run that says no way to reach it: exit %d\n%s\nwant exit 1 and %q, saying to try again", code, stderr, want)
	}
}

// TestDeadLettersOfASubscriber keeps the dead letters of one subscriber:
// one the manifest subscribes, or one that had dead letters before the
// manifest changed; any other name is said, with the nearest.
func TestDeadLettersOfASubscriber(t *testing.T) {
	app, err := builder.Load("testdata/apps/deadletters")
	if err != nil {
		t.Fatal(err)
	}
	dead := func() []state.DeadLetter {
		return []state.DeadLetter{{Seq: 2, Subscriber: "sink"}, {Seq: 4, Subscriber: "audit"}, {Seq: 5, Subscriber: "sink"}}
	}
	for _, c := range []struct {
		name, subscriber string
		dead             []state.DeadLetter
		seqs             []uint64
		err              string
	}{
		{name: "a subscriber of the manifest keeps its own", subscriber: "sink", dead: dead(), seqs: []uint64{2, 5}},
		{name: "a subscriber the manifest no longer has keeps its own", subscriber: "audit", dead: dead(), seqs: []uint64{4}},
		{name: "a subscriber with no dead letter keeps none", subscriber: "sink", dead: nil},
		{name: "a misspelt subscriber is an error with the nearest", subscriber: "adit", dead: dead(), err: "adit is no subscriber of topic news: did you mean audit?"},
		{name: "a subscriber of nothing is an error listing the subscribers", subscriber: "sender", dead: dead(), err: "sender is no subscriber of topic news (its subscribers: sink, audit)"},
		{name: "a dead letter that names no subscriber adds no name to the list", subscriber: "sender", dead: []state.DeadLetter{{Seq: 3}},
			err: "sender is no subscriber of topic news (its subscribers: sink)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := deadLettersOf(app, "news", c.subscriber, c.dead)
			var seqs []uint64
			for _, d := range got {
				seqs = append(seqs, d.Seq)
			}
			if (err == nil) != (c.err == "") || (err != nil && err.Error() != c.err) || !slices.Equal(seqs, c.seqs) {
				t.Errorf("deadLettersOf %s: %v, %v; want %v, %q", c.subscriber, seqs, err, c.seqs, c.err)
			}
		})
	}
}

// TestStateDropsOnlyWhatTheAppNoLongerDeclares fills a data directory as
// an earlier version of the deadletters app would have, with a store and
// a topic it no longer declares: parigot state drop removes each, saying
// how much it held, and refuses a declared one, a name the data holds
// nothing of, and a directory a run holds.
func TestStateDropsOnlyWhatTheAppNoLongerDeclares(t *testing.T) {
	const app = "testdata/apps/deadletters"
	data := dataWithLeftovers(t)
	where := []string{"--app", app, "--data", data}
	for _, tc := range []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"store", "kv"}, exitFailure, "", "parigot: deadletters declares store kv: drop removes only what parigot.hcl no longer declares; remove its block from testdata/apps/deadletters/parigot.hcl first\n"},
		{[]string{"store", "ledger"}, 0, "dropped store ledger and the 2 keys it held\n", ""},
		{[]string{"store", "ledger"}, exitFailure, "", "parigot: the data holds no store ledger: nothing to drop\n"},
		{[]string{"topic", "payments"}, 0, "dropped topic payments and the 1 message it held\n", ""},
		{[]string{"subscription", "news", "sink"}, exitFailure, "", "parigot: service sink subscribes to topic news in testdata/apps/deadletters/parigot.hcl: drop removes only what parigot.hcl no longer declares; remove its subscribe block first\n"},
		{[]string{"subscription", "news", "audit"}, 0, "dropped the subscription of audit to topic news (it took the topic up to message 0; 1 message not taken)\n", ""},
		{[]string{"subscription", "news", "audit"}, exitFailure, "", "parigot: topic news holds no subscription of service audit: nothing to drop\n"},
		{[]string{"subscription", "news"}, exitUsage, "", "parigot: drop removes a store, a topic or a subscription: parigot state drop store NAME, drop topic NAME, or drop subscription TOPIC SERVICE, not \"subscription news\"\nRun 'parigot state drop --help' for usage.\n"},
	} {
		stdout, stderr, code := stateCommand(t, append(append([]string{"drop"}, tc.args...), where...)...)
		if code != tc.code || stdout != tc.stdout || stderr != tc.stderr {
			t.Errorf("state drop %s: exit %d\n%s%s\nwant exit %d\n%s%s", strings.Join(tc.args, " "), code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
		}
	}

	_, release, err := state.JetStreamDir(data, false)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	_, stderr, code := stateCommand(t, append([]string{"drop", "store", "gone"}, where...)...)
	want := "parigot: another parigot run (process " + strconv.Itoa(os.Getpid()) + ") holds the data directory " + data + ": stop it first\n"
	if code != exitFailure || stderr != want {
		t.Errorf("state drop while a run holds the directory: exit %d\n%s\nwant exit 1 and\n%s", code, stderr, want)
	}
}

// dataWithLeftovers is a data directory that a run of app deadletters
// made with an earlier parigot.hcl, which declared store ledger (keys b
// and a, each holding "value of" its name) and topic payments (one
// message, "m"), which the app no longer declares, and a subscription of
// service audit to topic news (one message, not taken), which it no longer
// declares either.
func dataWithLeftovers(t *testing.T) string {
	data := t.TempDir()
	srv, err := state.StartServer(state.ServerOptions{Dir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	old, err := state.Open(t.Context(), nc, state.Options{App: "deadletters", Create: true,
		Stores: []state.StoreSpec{{Name: "kv"}, {Name: "ledger"}}, Topics: []state.TopicSpec{{Name: "payments"}, {Name: "news"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	js := old.JetStream()
	for _, k := range []string{"b", "a"} {
		if _, err := js.Publish(t.Context(), "$KV."+state.Bucket("deadletters", "ledger")+"."+k, []byte("value of "+k)); err != nil {
			t.Fatal(err)
		}
	}
	for _, topic := range []string{"payments", "news"} {
		if _, err := js.Publish(t.Context(), state.TopicSubject("deadletters", topic), []byte("m")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.CreateOrUpdateConsumer(t.Context(), state.Stream("deadletters", "news"), jetstream.ConsumerConfig{Durable: "audit",
		FilterSubject: state.TopicSubject("deadletters", "news"), AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	return data
}

// TestStateSaysTheAppRunsWithEphemeral runs the app's state in memory, as
// a run with --ephemeral does: parigot state says so, naming the run,
// rather than show what the data directory holds as the app's; once the
// run has ended, it reads the directory again.
func TestStateSaysTheAppRunsWithEphemeral(t *testing.T) {
	data := t.TempDir()
	_, release, err := state.JetStreamDir(data, true)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"dead", "news", "--app", "testdata/apps/deadletters", "--data", data}
	stdout, stderr, code := stateCommand(t, args...)
	want := "parigot: a run of the app with --ephemeral (process " + strconv.Itoa(os.Getpid()) + ") keeps its stores and topics in memory, out of parigot state's reach: what the data directory " + data + " holds is not what the app sees now, and is not shown; to inspect the app's state, run it without --ephemeral\n"
	if code != exitFailure || stdout != "" || stderr != want {
		t.Errorf("state beside a run with --ephemeral: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit 1 and %q", code, stdout, stderr, want)
	}
	release()
	if _, stderr, code := stateCommand(t, args...); strings.Contains(stderr, "--ephemeral") {
		t.Errorf("state once the run with --ephemeral ended: exit %d\n%s\nwant the directory read", code, stderr)
	}
}

// startsOnSight is a writer that keeps what it is given and calls start
// once, when what it keeps first holds want.
type startsOnSight struct {
	mu    sync.Mutex
	b     bytes.Buffer
	want  string
	start func()
}

func (w *startsOnSight) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if w.start != nil && strings.Contains(w.b.String(), w.want) {
		go w.start()
		w.start = nil
	}
	return len(p), nil
}

// TestStateWaitsForItsNATSServer gives parigot state --nats a server that
// is not up yet: it says once that it waits, and once connected, and then
// reads the server (which holds no stores of the app: that is said).
func TestStateWaitsForItsNATSServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	stderr := &startsOnSight{want: "parigot: waiting for the NATS server at ", start: func() { ns.Start() }}
	var stdout bytes.Buffer
	code := parigot([]string{"state", "keys", "kv", "--app", "testdata/apps/deadletters", "--nats", url}, &stdout, stderr)
	stderr.mu.Lock()
	got := stderr.b.String()
	stderr.mu.Unlock()
	waiting := "parigot: waiting for the NATS server at " + url + " (dial tcp 127.0.0.1:" + strconv.Itoa(port) + ": connect: connection refused): parigot state starts once it answers, for up to 2m0s (--nats-wait)\n"
	connected := regexp.MustCompile(`(?m)^parigot: connected to the NATS server at ` + regexp.QuoteMeta(url) + ` after [0-9.]+m?s: parigot state starts$`)
	if code != exitFailure || !strings.HasPrefix(got, waiting) || !connected.MatchString(got) ||
		!strings.Contains(got, "no run of deadletters has made it on "+url+" yet") {
		t.Errorf("state --nats with a server that starts late: exit %d\n%s\nwant %q, then the connection said, then the store not made", code, got, waiting)
	}
}

// TestStateReadsWhatTheAppNoLongerDeclares reads a store and a topic that
// an earlier parigot.hcl declared and the data still holds: keys, get and
// messages show them, saying once on stderr that parigot.hcl no longer
// declares them; a name neither declared nor held is refused as before.
func TestStateReadsWhatTheAppNoLongerDeclares(t *testing.T) {
	const app = "testdata/apps/deadletters"
	data := dataWithLeftovers(t)
	where := []string{"--app", app, "--data", data}
	said := func(kind, name string) string {
		return "parigot: parigot.hcl no longer declares " + kind + " " + name + ": this is what the data still holds of it, which runs leave as it is (parigot state drop " + kind + " " + name + " removes it)\n"
	}
	for _, tc := range []struct {
		args           []string
		code           int
		stdout, stderr *regexp.Regexp
	}{
		{[]string{"keys", "ledger"}, 0, regexp.MustCompile(`^a\nb\n$`), regexp.MustCompile("^" + regexp.QuoteMeta(said("store", "ledger")) + "$")},
		{[]string{"get", "ledger", "a"}, 0, regexp.MustCompile(`^value of a\n$`), regexp.MustCompile("^" + regexp.QuoteMeta(said("store", "ledger")) + "$")},
		{[]string{"messages", "payments"}, 0, regexp.MustCompile(`^SEQ +SIZE +TIME +WAITING FOR\n1 +1 B +\S+ \S+ +-\n$`), regexp.MustCompile("^" + regexp.QuoteMeta(said("topic", "payments")) + "$")},
		{[]string{"keys", "ledgers"}, exitFailure, regexp.MustCompile(`^$`), regexp.MustCompile(`^parigot: deadletters declares no store "ledgers" \(its stores: kv, notes\)\n$`)},
		{[]string{"messages", "newz"}, exitFailure, regexp.MustCompile(`^$`), regexp.MustCompile(`^parigot: deadletters declares no topic "newz": did you mean news\?\n$`)},
		{[]string{"redeliver", "payments"}, exitFailure, regexp.MustCompile(`^$`), regexp.MustCompile(`^parigot: deadletters declares no topic "payments"`)},
	} {
		stdout, stderr, code := stateCommand(t, append(tc.args, where...)...)
		if code != tc.code || !tc.stdout.MatchString(stdout) || !tc.stderr.MatchString(stderr) {
			t.Errorf("state %s: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d, stdout %q, stderr %q", strings.Join(tc.args, " "), code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
		}
	}
}
