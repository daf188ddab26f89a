package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"parigot.dev/parigot/internal/testcert"
)

const httpBlocks = `
http "payments" {
  url     = "https://api.example.com/v1"
  url_env = "PAYMENTS_URL"
}
`

func TestAnHTTPBlockAndItsUsesDecode(t *testing.T) {
	src := `service "checkout" {
  source     = "./greeting"
  implements = ["greeting.v1.Greeting"]
  uses       = [http.payments]
  pass_env   = ["PAYMENTS_API_KEY"]
}
` + appBlock + httpBlocks
	a, diags := Parse("parigot.hcl", []byte(src), "testdata/app")
	if diags.HasErrors() {
		t.Fatal(describe(diags))
	}
	h := a.HTTPEndpoint("payments")
	if h == nil || h.URL != "https://api.example.com/v1" || h.URLEnv != "PAYMENTS_URL" || h.Timeout != DefaultHTTPTimeout {
		t.Fatalf("http %+v", h)
	}
	if g := a.Guest("checkout"); !slices.Equal(g.Uses, []string{"http.payments"}) {
		t.Errorf("uses %q", g.Uses)
	}
	if a.HasState() {
		t.Error("an http endpoint made the app start JetStream")
	}
}

func TestAnHTTPBlocksTimeoutDecodes(t *testing.T) {
	src := "http \"mail\" {\n  url     = \"https://mail.example/v3\"\n  timeout = \"1m30s\"\n}\n" + appBlock
	a, diags := Parse("parigot.hcl", []byte(src), "testdata/app")
	if diags.HasErrors() {
		t.Fatal(describe(diags))
	}
	if h := a.HTTPEndpoint("mail"); h.Timeout != 90*time.Second {
		t.Errorf("timeout %s, want 1m30s", h.Timeout)
	}
}

func TestURLEnvReplacesTheURLOnlyWhenSet(t *testing.T) {
	a, diags := Parse("parigot.hcl", []byte(httpBlocks+appBlock), "testdata/app")
	if diags.HasErrors() {
		t.Fatal(describe(diags))
	}
	h := a.HTTPEndpoint("payments")
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	t.Run("unset, the url of parigot.hcl is used", func(t *testing.T) {
		if u, d := h.EndpointURL(env(nil)); d != nil || u != "https://api.example.com/v1" {
			t.Errorf("got %q, %v", u, d)
		}
	})
	t.Run("set, its value is used", func(t *testing.T) {
		if u, d := h.EndpointURL(env(map[string]string{"PAYMENTS_URL": "http://127.0.0.1:8080/base"})); d != nil || u != "http://127.0.0.1:8080/base" {
			t.Errorf("got %q, %v", u, d)
		}
	})
	t.Run("set to no URL, it is reported at url_env before the run", func(t *testing.T) {
		diags := a.BadHTTPEnv(env(map[string]string{"PAYMENTS_URL": "localhost:8080"}))
		if len(diags) != 1 || diags[0].Summary != "PAYMENTS_URL holds no valid URL" ||
			!strings.Contains(diags[0].Detail, "https://") || diags[0].Subject.Start.Line != 4 || diags[0].Subject.Start.Column != 13 {
			t.Errorf("diagnostics:\n%s", describe(diags))
		}
	})
}

// A ca_file is read relative to the app directory and checked when the
// manifest is; a ca_file_env variable, when set, replaces it for the run,
// and one naming no usable file is reported at ca_file_env before it.
func TestCAFileEnvReplacesTheCAFileOnlyWhenSet(t *testing.T) {
	src := "http \"mail\" {\n  url         = \"https://mail.example\"\n  ca_file     = \"certs/ca.pem\"\n  ca_file_env = \"MAIL_CA\"\n}\n" + appBlock
	a, diags := Parse("parigot.hcl", []byte(src), "testdata/app")
	if diags.HasErrors() {
		t.Fatal(describe(diags))
	}
	h := a.HTTPEndpoint("mail")
	own := filepath.Join(a.Dir, "certs", "ca.pem")
	if h.CA.File != own || h.CA.Env != "MAIL_CA" {
		t.Fatalf("http %+v; want ca_file %s", h, own)
	}
	if _, err := CAPool(h.CA.File); err != nil {
		t.Errorf("CAPool(%s): %v", h.CA.File, err)
	}
	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) { return v, k == "MAIL_CA" && v != "" }
	}
	elsewhere := filepath.Join(t.TempDir(), "test-ca.pem")
	data, _ := os.ReadFile(own)
	os.WriteFile(elsewhere, data, 0o600)
	for _, tc := range []struct{ name, env, want string }{
		{"unset, the ca_file of parigot.hcl is used", "", own},
		{"set to an absolute path, it is used", elsewhere, elsewhere},
		{"set to a relative path, it is relative to the app directory", "certs/ca.pem", own},
	} {
		if got, d := h.EndpointTLS(a.Dir, env(tc.env)); d != nil || got.CAFile != tc.want {
			t.Errorf("%s: got %q, %v", tc.name, got, d)
		}
	}
	for _, tc := range []struct{ env, summary string }{
		{"certs/missing.pem", "CA file not found"},
		{"certs/no-cert.pem", "No certificate in CA file"},
	} {
		diags := a.BadHTTPEnv(env(tc.env))
		if len(diags) != 1 || diags[0].Summary != tc.summary || !strings.Contains(diags[0].Detail, `MAIL_CA (the ca_file_env of http "mail") names "`+tc.env+`"`) ||
			diags[0].Subject.Start.Line != 4 || diags[0].Subject.Start.Column != 17 {
			t.Errorf("MAIL_CA=%s:\n%s", tc.env, describe(diags))
		}
	}
}

// A client certificate and key are read with the manifest, or from their
// variables for a run, and go together: a key that is not the
// certificate's is reported at the key, with what to do.
func TestAClientCertificateAndKeyGoTogether(t *testing.T) {
	dir := t.TempDir()
	cert, key, _ := testcert.Client(t, dir, "client")
	_, otherKey, _ := testcert.Client(t, dir, "other")
	block := "http \"mail\" {\n  url             = \"https://mail.example\"\n  client_cert     = \"client.pem\"\n  client_key      = \"%s\"\n  client_key_env  = \"MAIL_KEY\"\n}\n" + appBlock
	a, diags := Parse("parigot.hcl", []byte(fmt.Sprintf(block, "client-key.pem")), dir)
	if diags.HasErrors() {
		t.Fatal(describe(diags))
	}
	h := a.HTTPEndpoint("mail")
	files, d := h.EndpointTLS(a.Dir, func(string) (string, bool) { return "", false })
	if d.HasErrors() || files.ClientCert != cert || files.ClientKey != key {
		t.Errorf("EndpointTLS = %+v\n%s; want %s and %s", files, describe(d), cert, key)
	}
	if _, err := ClientCertificate(files.ClientCert, files.ClientKey); err != nil {
		t.Errorf("ClientCertificate: %v", err)
	}

	mismatch := func(t *testing.T, diags hcl.Diagnostics, at string) {
		t.Helper()
		d := theOneError(t, diags)
		if d.Summary != "Client key does not match its certificate" || !strings.Contains(d.Detail, "the private key is not the key of the certificate") {
			t.Errorf("the error says %q: %q", d.Summary, d.Detail)
		}
		if got := fmt.Sprintf("%d:%d", d.Subject.Start.Line, d.Subject.Start.Column); got != at {
			t.Errorf("the error is at %s, want %s", got, at)
		}
	}
	t.Run("in parigot.hcl, it is reported at client_key", func(t *testing.T) {
		_, diags := Parse("parigot.hcl", []byte(fmt.Sprintf(block, "other-key.pem")), dir)
		mismatch(t, diags, "4:21")
	})
	t.Run("from client_key_env, it is reported there before the run", func(t *testing.T) {
		mismatch(t, a.BadHTTPEnv(func(k string) (string, bool) { return otherKey, k == "MAIL_KEY" }), "5:21")
	})
}

var httpDiagnosticCases = []diagnosticCase{
	{
		name:    "an http endpoint not declared is reported at its uses entry, with the closest name",
		src:     "program \"hello\" {\n  source = \"./hello\"\n  uses   = [http.paymnts]\n}\n",
		summary: `No http endpoint named "paymnts" is declared`,
		detail:  "Did you mean http.payments?",
		at:      "3:13",
	},
	{
		name:    "a url that is not absolute is reported with an example",
		src:     "http \"mail\" {\n  url = \"api.mail.example/v3\"\n}\n",
		summary: "Invalid http url",
		detail:  "is not an absolute http or https URL",
		at:      "2:9",
	},
	{
		name:    "a url of another scheme is reported",
		src:     "http \"mail\" {\n  url = \"ftp://mail.example\"\n}\n",
		summary: "Invalid http url",
		detail:  "starts with https://",
		at:      "2:9",
	},
	{
		name:    "a url with a query is reported",
		src:     "http \"mail\" {\n  url = \"https://mail.example/v3?key=1\"\n}\n",
		summary: "Invalid http url",
		detail:  "Each request gives its own query",
		at:      "2:9",
	},
	{
		name:    "a url with a fragment is reported",
		src:     "http \"mail\" {\n  url = \"https://mail.example/v3#top\"\n}\n",
		summary: "Invalid http url",
		detail:  "fragment",
		at:      "2:9",
	},
	{
		name:    "a url with a password is reported without showing it",
		src:     "http \"mail\" {\n  url = \"https://me:s3cret@mail.example/v3\"\n}\n",
		summary: "Invalid http url",
		detail:  "pass them to the guest with pass_env",
		at:      "2:9",
	},
	{
		name:    "an http block without url is reported",
		src:     "http \"mail\" {\n}\n",
		summary: "Missing required argument",
		detail:  "url",
		at:      "1:13",
	},
	{
		name:    "a url_env that cannot name a variable is reported",
		src:     "http \"mail\" {\n  url     = \"https://mail.example\"\n  url_env = \"MAIL URL\"\n}\n",
		summary: "Invalid env variable name",
		detail:  "url_env",
		at:      "3:13",
	},
	{
		name:    "an http timeout that is not a duration is reported at its value",
		src:     "http \"mail\" {\n  url     = \"https://mail.example\"\n  timeout = \"soon\"\n}\n",
		summary: "Invalid timeout",
		detail:  `"soon" is not a duration`,
		at:      "3:13",
	},
	{
		name:    "an http timeout without a unit is reported with an example",
		src:     "http \"mail\" {\n  url     = \"https://mail.example\"\n  timeout = \"5\"\n}\n",
		summary: "Invalid timeout",
		detail:  `timeout = "30s"`,
		at:      "3:13",
	},
	{
		name:    "an http timeout given as a number is reported at its value",
		src:     "http \"mail\" {\n  url     = \"https://mail.example\"\n  timeout = 5\n}\n",
		summary: "Incorrect type for timeout",
		detail:  `timeout = "30s"`,
		at:      "3:13",
	},
	{
		name:    "an http timeout over an hour is reported with the range and why",
		src:     "http \"mail\" {\n  url     = \"https://mail.example\"\n  timeout = \"2h\"\n}\n",
		summary: "timeout out of range",
		detail:  "give from 1ms to 1h",
		at:      "3:13",
	},
	{
		name:    "a zero http timeout is reported at its value",
		src:     "http \"mail\" {\n  url     = \"https://mail.example\"\n  timeout = \"0s\"\n}\n",
		summary: "timeout out of range",
		detail:  "the deadline of the method that sent it",
		at:      "3:13",
	},
	{
		name:    "a ca_file that does not exist is reported at its value, with what it should hold",
		src:     "http \"mail\" {\n  url     = \"https://mail.example\"\n  ca_file = \"certs/missing.pem\"\n}\n",
		summary: "CA file not found",
		detail:  `The ca_file of http "mail" names "certs/missing.pem", which does not exist`,
		at:      "3:13",
	},
	{
		name:    "a ca_file with no certificate in it is reported",
		src:     "http \"mail\" {\n  url     = \"https://mail.example\"\n  ca_file = \"certs/no-cert.pem\"\n}\n",
		summary: "No certificate in CA file",
		detail:  "it holds no PEM certificate (a block that starts -----BEGIN CERTIFICATE-----)",
		at:      "3:13",
	},
	{
		name:    "a ca_file outside the app directory is reported with the rule for paths",
		src:     "http \"mail\" {\n  url     = \"https://mail.example\"\n  ca_file = \"/etc/ssl/ca.pem\"\n}\n",
		summary: "Absolute ca_file path",
		detail:  `ca_file = "certs/internal-ca.pem"`,
		at:      "3:13",
	},
	{
		name:    "a ca_file_env that cannot name a variable is reported",
		src:     "http \"mail\" {\n  url         = \"https://mail.example\"\n  ca_file_env = \"MAIL-CA\"\n}\n",
		summary: "Invalid env variable name",
		detail:  "ca_file_env",
		at:      "3:17",
	},
	{
		name:    "a client_cert without its key is reported at the certificate",
		src:     "http \"mail\" {\n  url         = \"https://mail.example\"\n  client_cert = \"certs/ca.pem\"\n}\n",
		summary: "Client certificate without its key",
		detail:  "add client_key (or client_key_env)",
		at:      "3:17",
	},
	{
		name:    "a client_key_env without a certificate is reported at it",
		src:     "http \"mail\" {\n  url            = \"https://mail.example\"\n  client_key_env = \"MAIL_KEY\"\n}\n",
		summary: "Client key without its certificate",
		detail:  "add client_cert (or client_cert_env)",
		at:      "3:20",
	},
	{
		name:    "a client_key with no private key in it is reported",
		src:     "http \"mail\" {\n  url         = \"https://mail.example\"\n  client_cert = \"certs/ca.pem\"\n  client_key  = \"certs/ca.pem\"\n}\n",
		summary: "No private key in client key",
		detail:  "it holds no PEM private key",
		at:      "4:17",
	},
	{
		name:    "a duplicate http endpoint is reported at its label",
		src:     "http \"payments\" {\n  url = \"https://other.example\"\n}\n",
		summary: `Duplicate http name "payments"`,
		detail:  "already declared at line 1",
		at:      "5:6",
	},
}

// The http cases join the manifest's diagnostic cases, with the endpoint
// they refer to declared after their source.
func init() { addDiagnosticCases(httpDiagnosticCases, httpBlocks) }

func TestAPasswordInAnHTTPURLIsNotShown(t *testing.T) {
	why := CheckEndpointURL("https://me:s3cret@mail.example/v3")
	if why == "" || strings.Contains(why, "s3cret") {
		t.Errorf("got %q", why)
	}
}
