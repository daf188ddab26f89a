package manifest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// stateBlocks declares the store and topic the cases below refer to.
const stateBlocks = `
store "accounts" {
  history = 3
}
topic "transfers" {
  replicas = 3
}
`

const stateApp = appBlock + stateBlocks

func TestStoresTopicsUsesAndSubscriptionsDecode(t *testing.T) {
	src := `service "greeting" {
  source     = "./greeting"
  implements = ["greeting.v1.Greeting"]
  uses       = [store.accounts, topic.transfers]
  subscribe {
    topic        = topic.transfers
    method       = "greeting.v1.Greeting/Record"
    max_attempts = 7
    start        = "new"
  }
}
program "hello" {
  source = "./hello"
  uses   = [topic.transfers]
}
` + stateApp
	a, diags := Parse("parigot.hcl", []byte(src), "testdata/app")
	if diags.HasErrors() {
		t.Fatal(describe(diags))
	}
	if !a.HasState() || a.Store("accounts").History != 3 || a.Topic("transfers").Replicas != 3 || a.Store("accounts").Replicas != 1 {
		t.Errorf("stores %+v, topics %+v", a.Stores, a.Topics)
	}
	g := a.Guest("greeting")
	if !slices.Equal(g.Uses, []string{"store.accounts", "topic.transfers"}) {
		t.Errorf("uses %q", g.Uses)
	}
	if len(g.Subscriptions) != 1 || g.Subscriptions[0].Topic != "transfers" || g.Subscriptions[0].Method != "greeting.v1.Greeting/Record" || g.Subscriptions[0].MaxAttempts != 7 || g.Subscriptions[0].Start != StartNew {
		t.Errorf("subscriptions %+v", g.Subscriptions)
	}
	if !slices.Equal(a.Guest("hello").Uses, []string{"topic.transfers"}) {
		t.Errorf("program uses %q", a.Guest("hello").Uses)
	}
}

func TestAStoresValueTypeDecodes(t *testing.T) {
	src := appBlock + "store \"accounts\" {\n  value = \"bank.v1.Account\"\n}\nstore \"blobs\" {}\n"
	a, diags := Parse("parigot.hcl", []byte(src), "testdata/app")
	if diags.HasErrors() {
		t.Fatal(describe(diags))
	}
	accounts, blobs := a.Store("accounts"), a.Store("blobs")
	if accounts.Value != "bank.v1.Account" || accounts.ValueRange.Start.Line != strings.Count(appBlock, "\n")+2 || accounts.ValueRange.Start.Column != 11 {
		t.Errorf("store accounts: value %q at %s, want bank.v1.Account at its attribute", accounts.Value, accounts.ValueRange)
	}
	if blobs.Value != "" {
		t.Errorf("store blobs, declared without value: value %q", blobs.Value)
	}
}

// CheckStoreValues reports a value no proto defines at the attribute,
// with the message meant: a near name, or the one message of that name
// in another package.
func TestAStoreValueNoProtoDefinesIsReported(t *testing.T) {
	src := appBlock + "store \"accounts\" {\n  value = \"bank.v1.Acount\"\n}\nstore \"ledger\" {\n  value = \"ledger.Entry\"\n}\nstore \"blobs\" {}\n"
	a, diags := Parse("parigot.hcl", []byte(src), "testdata/app")
	if diags.HasErrors() {
		t.Fatal(describe(diags))
	}
	messages := map[string]bool{"bank.v1.Account": true, "bank.v1.Entry": true, "google.protobuf.Timestamp": true}
	diags = a.CheckStoreValues(messages)
	line := strings.Count(appBlock, "\n") + 2
	if len(diags) != 2 {
		t.Fatalf("diagnostics:\n%s\nwant one for each of accounts and ledger", describe(diags))
	}
	for i, want := range []struct {
		summary, meant string
		line           int
	}{{`Unknown proto message "bank.v1.Acount"`, `Did you mean "bank.v1.Account"?`, line}, {`Unknown proto message "ledger.Entry"`, `Did you mean "bank.v1.Entry"?`, line + 3}} {
		d := diags[i]
		if d.Summary != want.summary || !strings.HasSuffix(d.Detail, want.meant) || d.Subject.Start.Line != want.line || d.Subject.Start.Column != 11 {
			t.Errorf("diagnostic %d: %s\nwant %s at %d:11, ending %q", i, describe(diags[i:i+1]), want.summary, want.line, want.meant)
		}
	}
	messages["bank.v1.Acount"], messages["ledger.Entry"] = true, true
	if diags := a.CheckStoreValues(messages); len(diags) != 0 {
		t.Errorf("defined messages are reported:\n%s", describe(diags))
	}
}

// A topic keeps every message unless it says how long or how much.
func TestATopicsRetentionDecodes(t *testing.T) {
	src := appBlock + "topic \"orders\" {\n  max_age   = \"720h\"\n  max_bytes = \"2GiB\"\n}\ntopic \"audit\" {}\n"
	a, diags := Parse("parigot.hcl", []byte(src), "testdata/app")
	if diags.HasErrors() {
		t.Fatal(describe(diags))
	}
	if o := a.Topic("orders"); o.MaxAge != 720*time.Hour || o.MaxBytes != 2<<30 {
		t.Errorf("topic orders keeps %v and %d bytes, want 720h and 2GiB", o.MaxAge, o.MaxBytes)
	}
	if au := a.Topic("audit"); au.MaxAge != 0 || au.MaxBytes != 0 {
		t.Errorf("topic audit, declared without bounds, keeps %v and %d bytes, want no bound", au.MaxAge, au.MaxBytes)
	}
}

func TestAnAppWithoutStoresOrTopicsHasNoState(t *testing.T) {
	a, diags := Parse("parigot.hcl", []byte(appBlock), "testdata/app")
	if diags.HasErrors() || a.HasState() {
		t.Errorf("HasState %v, %s", a.HasState(), describe(diags))
	}
}

var stateDiagnosticCases = []diagnosticCase{
	{
		name:    "a store not declared is reported at its uses entry, with the closest name",
		src:     "program \"hello\" {\n  source = \"./hello\"\n  uses   = [store.acounts]\n}\n",
		summary: `No store named "acounts" is declared`,
		detail:  "Did you mean store.accounts?",
		at:      "3:13",
	},
	{
		name:    "a quoted uses entry is reported with the reference to write",
		src:     "program \"hello\" {\n  source = \"./hello\"\n  uses   = [\"accounts\"]\n}\n",
		summary: "Quoted name in uses",
		detail:  "store.accounts, topic.accounts or http.accounts",
		at:      "3:13",
	},
	{
		name:    "a uses entry of another kind is reported",
		src:     "program \"hello\" {\n  source = \"./hello\"\n  uses   = [service.greeting]\n}\n",
		summary: "Invalid uses entry",
		detail:  "store.<name>, topic.<name> or http.<name>",
		at:      "3:13",
	},
	{
		name:    "a subscription to a topic the service does not use is reported at its topic",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n  subscribe {\n    topic  = topic.transfers\n    method = \"greeting.v1.Greeting/Record\"\n  }\n}\n",
		summary: "Subscribed topic not in uses",
		detail:  "add topic.transfers to the uses",
		at:      "5:14",
	},
	{
		name:    "a subscription to a method of a service not implemented is reported",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n  uses       = [topic.transfers]\n  subscribe {\n    topic  = topic.transfers\n    method = \"other.v1.Other/Record\"\n  }\n}\n",
		summary: "does not implement",
		detail:  "greeting.v1.Greeting",
		at:      "7:14",
	},
	{
		name:    "a subscription method that is not a full name is reported",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n  uses       = [topic.transfers]\n  subscribe {\n    topic  = topic.transfers\n    method = \"Record\"\n  }\n}\n",
		summary: "Invalid subscription method",
		detail:  `"greeting.v1.Greeting/Record"`,
		at:      "7:14",
	},
	{
		name:    "a program with a subscribe block is reported",
		src:     "program \"hello\" {\n  source = \"./hello\"\n  subscribe {\n    topic  = topic.transfers\n    method = \"a.B/C\"\n  }\n}\n",
		summary: "Programs take no subscribe block",
		detail:  "no message can be delivered",
		at:      "3:3",
	},
	{
		name:    "max_attempts out of range is reported with the range",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n  uses       = [topic.transfers]\n  subscribe {\n    topic        = topic.transfers\n    method       = \"greeting.v1.Greeting/Record\"\n    max_attempts = 0\n  }\n}\n",
		summary: "max_attempts out of range",
		detail:  "from 1 to 1000",
		at:      "8:20",
	},
	{
		name:    "a subscription's start other than first or new is reported with the choices",
		src:     "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n  uses       = [topic.transfers]\n  subscribe {\n    topic  = topic.transfers\n    method = \"greeting.v1.Greeting/Record\"\n    start  = \"latest\"\n  }\n}\n",
		summary: "Invalid start",
		detail:  `"latest" is not one of "first", "new". For example start = "first" (the default).`,
		at:      "8:14",
	},
	{
		name:    "a store's replicas over 5 are reported",
		src:     "store \"big\" {\n  replicas = 7\n}\n",
		summary: "replicas out of range",
		detail:  "from 1 to 5",
		at:      "2:14",
	},
	{
		name:    "a store's value that is not a full message name is reported with the package to add",
		src:     "store \"balances\" {\n  value = \"Account\"\n}\n",
		summary: "Invalid proto message name",
		detail:  `Add the package of its proto file: "<package>.Account".`,
		at:      "2:11",
	},
	{
		name:    "a store's value that is not a string is reported with an example",
		src:     "store \"balances\" {\n  value = 3\n}\n",
		summary: "Incorrect type for value",
		detail:  `value = "bank.v1.Account"`,
		at:      "2:11",
	},
	{
		name:    "a topic's max_age under a minute is reported with the range and why",
		src:     "topic \"events\" {\n  max_age = \"10s\"\n}\n",
		summary: "max_age out of range",
		detail:  "whether its subscribers took it or not",
		at:      "2:13",
	},
	{
		name:    "a topic's max_bytes that is not a size is reported with an example",
		src:     "topic \"events\" {\n  max_bytes = \"1GB\"\n}\n",
		summary: "Invalid max_bytes",
		detail:  `max_bytes = "1GiB"`,
		at:      "2:15",
	},
	{
		name:    "a duplicate store is reported at its label",
		src:     "store \"accounts\" {}\n",
		summary: `Duplicate store name "accounts"`,
		detail:  "already declared at line 1",
		at:      "3:7",
	},
}

// The state cases join the manifest's diagnostic cases, with the store and
// topic they refer to declared after their source.
func init() { addDiagnosticCases(stateDiagnosticCases, stateBlocks) }

func TestASubscriptionToAMethodNoProtoDefinesIsReported(t *testing.T) {
	src := `service "greeting" {
  source     = "./greeting"
  implements = ["greeting.v1.Greeting"]
  uses       = [topic.transfers]
  subscribe {
    topic  = topic.transfers
    method = "greeting.v1.Greeting/Recrod"
  }
}
` + stateApp
	a, diags := Parse("parigot.hcl", []byte(src), "testdata/app")
	if diags.HasErrors() {
		t.Fatal(describe(diags))
	}
	diags = a.CheckSubscriptions(map[string]bool{"greeting.v1.Greeting/Record": true, "greeting.v1.Greeting/FetchGreeting": true})
	if len(diags) != 1 || !strings.Contains(diags[0].Detail, `Did you mean "greeting.v1.Greeting/Record"?`) || diags[0].Subject.Start.Line != 7 {
		t.Errorf("diagnostics:\n%s", describe(diags))
	}
	if diags := a.CheckSubscriptions(map[string]bool{"greeting.v1.Greeting/Recrod": true}); len(diags) != 0 {
		t.Errorf("a defined method is reported:\n%s", describe(diags))
	}
}

// A subscription to a proto service near one the service implements is a
// typo in one of the two, which only the protos tell apart: Parse leaves
// it, CheckImplements reports a mistaken implements entry (and the build
// stops there), and CheckSubscriptions, once the entries are right,
// reports the subscription, with the method meant. One error, where the
// mistake is.
func TestASubscriptionNearAnImplementedServiceWaitsForTheProtos(t *testing.T) {
	src := func(implements, method string) string {
		return `service "stats" {
  source     = "./greeting"
  implements = ["` + implements + `"]
  uses       = [topic.transfers]
  subscribe {
    topic  = topic.transfers
    method = "` + method + `"
  }
}
` + stateApp
	}
	defined := map[string]bool{"bank.v1.Stats": true}
	methods := map[string]bool{"bank.v1.Stats/Record": true}
	for _, tc := range []struct {
		name, implements, method string
		check                    string // which check reports it
		at                       string
		detail                   string
	}{
		{"a typo in implements is reported there, with the service the protos define", "bank.v1.Stat", "bank.v1.Stats/Record",
			"implements", "3:17", `Did you mean "bank.v1.Stats"?`},
		{"a typo in the subscription is reported there, with the method meant", "bank.v1.Stats", "bank.v1.Stat/Record",
			"subscriptions", "7:14", `bank.v1.Stat is not among the proto services service "stats" implements (bank.v1.Stats); a subscription delivers messages to a method of the service itself. Did you mean "bank.v1.Stats/Record"?`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, diags := Parse("parigot.hcl", []byte(src(tc.implements, tc.method)), "testdata/app")
			if diags.HasErrors() {
				t.Fatalf("Parse reports what the protos decide:\n%s", describe(diags))
			}
			diags = a.CheckImplements(defined)
			if tc.check == "subscriptions" {
				if diags.HasErrors() {
					t.Fatalf("CheckImplements:\n%s", describe(diags))
				}
				diags = a.CheckSubscriptions(methods)
			}
			if len(diags) != 1 || !strings.Contains(diags[0].Detail, tc.detail) ||
				fmt.Sprintf("%d:%d", diags[0].Subject.Start.Line, diags[0].Subject.Start.Column) != tc.at {
				t.Errorf("diagnostics:\n%s\nwant one at %s saying %q", describe(diags), tc.at, tc.detail)
			}
		})
	}
}
