package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"parigot.dev/parigot/builder"
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

// TestStateListsAndRedeliversDeadLetters runs an app whose subscriber
// refuses a message until it is dead-lettered, and then: parigot state
// refuses the data directory while the run holds it, naming the run's
// process; once the run is stopped it lists the dead letter, the store's
// keys and values, and redelivers the message, which a second run's
// subscriber then takes.
func TestStateListsAndRedeliversDeadLetters(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wasm guests")
	}
	const app = "testdata/apps/deadletters"
	data := t.TempDir()
	where := []string{"--app", app, "--data", data}

	p := startParigot(t, "", nil, "run", "--data", data, app)
	p.waitFor(t, &p.stderr, regexp.MustCompile(`^parigot: service sink: message 1 of topic news dead-lettered after 2 attempts`), 1)
	_, stderr, code := stateCommand(t, append([]string{"dead", "news"}, where...)...)
	held := "parigot: the data directory " + data + " is in use by another parigot run (process " + strconv.Itoa(p.cmd.Process.Pid) + "): "
	if code != exitFailure || !strings.HasPrefix(stderr, held) || !strings.Contains(stderr, "stop that run first") {
		t.Errorf("parigot state on a data directory a run holds: exit %d, stderr:\n%s\nwant exit 1 and %q, saying to stop the run", code, stderr, held)
	}
	p.signal(syscall.SIGINT)
	p.wantInterrupted(t, p.wait(t))

	stdout, stderr, code := stateCommand(t, append([]string{"dead", "news"}, where...)...)
	row := regexp.MustCompile(`(?m)^(\d+) +1 +sink +2 +5 B +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +internal: refused hello, as told$`)
	m := row.FindStringSubmatch(stdout)
	if code != 0 || !strings.HasPrefix(stdout, "SEQ  MESSAGE  SUBSCRIBER  ATTEMPTS  SIZE  TIME") || m == nil || strings.Count(stdout, "\n") != 2 {
		t.Fatalf("state dead: exit %d, stdout:\n%s\nstderr:\n%s\nwant a header and one row matching %s", code, stdout, stderr, row)
	}
	seq := m[1]
	stdout, _, _ = stateCommand(t, append([]string{"dead", "news", "--json"}, where...)...)
	var dead []deadLetter
	if err := json.Unmarshal([]byte(stdout), &dead); err != nil || len(dead) != 1 || strconv.FormatUint(dead[0].Seq, 10) != seq ||
		string(dead[0].Data) != "hello" || dead[0].Subscriber != "sink" || dead[0].Attempts != 2 {
		t.Errorf("state dead --json: %v\n%s", err, stdout)
	}

	if stdout, stderr, code := stateCommand(t, append([]string{"keys", "kv"}, where...)...); code != 0 || stdout != "bin\nsent\ntries.hello\n" {
		t.Errorf("state keys kv: exit %d\n%s%s", code, stdout, stderr)
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

	// The next run's subscriber takes it, the third time it is delivered.
	p = startParigot(t, "", nil, "run", "--data", data, app)
	if err := p.wait(t); err != nil || !strings.Contains(p.stdout.String(), "sender | hello was taken\n") {
		t.Fatalf("the second run: %v\n%s", err, p.said())
	}
	if stdout, _, code := stateCommand(t, append([]string{"get", "kv", "done.hello"}, where...)...); code != 0 || stdout != "hello\n" {
		t.Errorf("state get kv done.hello after the second run: exit %d\n%s", code, stdout)
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
	if _, stderr, code := stateCommand(t, append([]string{"keys", "kv", "--nats-user", "ops:wrong"}, where...)...); code != exitFailure || !strings.Contains(stderr, "the server refused the credentials") {
		t.Errorf("state keys with a wrong password: exit %d\n%s", code, stderr)
	}
}
