package builder

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A store's value names a message of the app's protos: parigot check and
// a build report one that no proto defines at its value attribute, with
// the message meant, and accept one that a proto defines, the app's own
// or one a proto imports.
func TestAStoreValueNoProtoDefinesIsReportedAtIt(t *testing.T) {
	protoBlock := "\nproto \"shop\" {\n  root  = \"proto\"\n  files = [\"proto/shop/v1/shop.proto\"]\n}\n"
	shopProto := `syntax = "proto3";
package shop.v1;
import "google/protobuf/timestamp.proto";
option go_package = "example.com/shop/gen/shop/v1;shopv1";
message Item {
  string name = 1;
  google.protobuf.Timestamp added = 2;
  message Price { int64 cents = 1; }
}
`
	store := func(value string) string { return "\nstore \"items\" {\n  value = \"" + value + "\"\n}\n" }
	for _, tc := range []struct {
		name, value string
		want        string // the detail's end; "" when the value is right
	}{
		{"a message of the app's protos is right", "shop.v1.Item", ""},
		{"a nested message is right", "shop.v1.Item.Price", ""},
		{"a message a proto imports is right", "google.protobuf.Timestamp", ""},
		{"a typo is reported with the message meant", "shop.v1.Itme", `Did you mean "shop.v1.Item"?`},
		{"another package is reported with the message of that name", "orders.v1.Item", `Did you mean "shop.v1.Item"?`},
		{"a message no proto is near is reported with what to do", "shop.v1.Customer", "list the proto file that defines it in a proto block."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{
				"parigot.hcl":              shopHeader + protoBlock + store(tc.value),
				"proto/shop/v1/shop.proto": shopProto,
			})
			app, err := LoadDeclared(dir)
			if err != nil {
				t.Fatal(rendered(err))
			}
			_, err = Vet(context.Background(), app, dir)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Vet: %s", rendered(err))
				}
				return
			}
			var de *DiagnosticsError
			if !errors.As(err, &de) || len(de.Diags) != 1 {
				t.Fatalf("Vet: %s\nwant one diagnostic", rendered(err))
			}
			d := de.Diags[0]
			if d.Summary != `Unknown proto message "`+tc.value+`"` || d.Subject == nil ||
				d.Subject.Start.Line != 11 || d.Subject.Start.Column != 11 || !strings.HasSuffix(d.Detail, tc.want) {
				t.Errorf("Vet: %s\nwant Unknown proto message %q at parigot.hcl:11:11, its detail ending %q", rendered(err), tc.value, tc.want)
			}
			if err := generateForTest(dir, nil); err == nil || !strings.Contains(rendered(err), `Unknown proto message "`+tc.value+`"`) {
				t.Errorf("the build: %s\nwant it to fail as Vet does", rendered(err))
			}
		})
	}
}
