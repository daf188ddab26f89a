package manifest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseGatewayHeaders(t *testing.T) {
	src := `
app "a" {
  module = "example.com/a"
}
proto "greeting" {
  files = ["proto/greeting/v1/greeting.proto"]
}
service "greeting" {
  source     = "./greeting"
  implements = ["greeting.v1.Greeting"]
}
gateway "public" {
  services = [service.greeting]
  headers  = ["Authorization", "x-request-id"]
}
gateway "internal" {
  listen   = "127.0.0.1:8081"
  services = [service.greeting]
}
`
	app, diags := Parse("parigot.hcl", []byte(src), "testdata/app")
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", describe(diags))
	}
	if got, want := app.Gateway("public").Headers, []string{"authorization", "x-request-id"}; !reflect.DeepEqual(got, want) {
		t.Errorf("public's Headers = %q, want %q (lowercase)", got, want)
	}
	if got := app.Gateway("internal").Headers; got != nil {
		t.Errorf("a gateway without headers passes on %q, want none", got)
	}
}

// gatewayWithHeaders is a manifest whose gateway lists headers, on line 7.
func gatewayWithHeaders(list string) string {
	return "service \"greeting\" {\n  source     = \"./greeting\"\n  implements = [\"greeting.v1.Greeting\"]\n}\ngateway \"public\" {\n  services = [service.greeting]\n  headers  = " + list + "\n}\n" + appBlock
}

func TestGatewayHeadersThatCannotBePassedOnAreReportedAtTheirEntry(t *testing.T) {
	for _, c := range []struct {
		name, list, summary, detail, at string
	}{
		{"a name with a space", `["authorization", "x request"]`, "Invalid header", "is not an HTTP header name", "7:32"},
		{"an empty name", `[""]`, "Invalid header", "is not an HTTP header name", "7:15"},
		{"a pseudo-header", `[":authority"]`, "Invalid header", "is not an HTTP header name", "7:15"},
		{"a name listed twice, in another case", `["authorization", "Authorization"]`, "Duplicate header", "already listed at line 7", "7:32"},
		{"a hop-by-hop header", `["Connection"]`, "Invalid header", "hop-by-hop", "7:15"},
		{"transfer-encoding", `["transfer-encoding"]`, "Invalid header", "hop-by-hop", "7:15"},
		{"te", `["te"]`, "Invalid header", "hop-by-hop", "7:15"},
		{"content-type", `["content-type"]`, "Invalid header", "the gateway handles itself", "7:15"},
		{"content-length", `["Content-Length"]`, "Invalid header", "the gateway handles itself", "7:15"},
		{"host", `["host"]`, "Invalid header", "the gateway handles itself", "7:15"},
		{"a gRPC header", `["grpc-timeout"]`, "Invalid header", "gRPC protocol", "7:15"},
		{"a Connect header", `["Connect-Timeout-Ms"]`, "Invalid header", "Connect protocol", "7:15"},
		{"traceparent", `["traceparent"]`, "Invalid header", "tracing's", "7:15"},
		{"a number", `[5]`, "", "", "7:15"},
		{"not a list", `"authorization"`, "", "", "7:14"},
	} {
		t.Run(c.name+" is refused", func(t *testing.T) {
			_, diags := Parse("parigot.hcl", []byte(gatewayWithHeaders(c.list)), "testdata/app")
			d := theOneError(t, diags)
			if !strings.Contains(d.Summary, c.summary) || !strings.Contains(d.Detail, c.detail) {
				t.Errorf("got %q: %q, want %q: ...%q...", d.Summary, d.Detail, c.summary, c.detail)
			}
			if d.Subject == nil {
				t.Fatalf("diagnostic has no subject")
			}
			if got := fmt.Sprintf("%d:%d", d.Subject.Start.Line, d.Subject.Start.Column); got != c.at {
				t.Errorf("diagnostic at %s, want %s", got, c.at)
			}
		})
	}
}
