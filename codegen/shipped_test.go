package codegen

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestShippedIdProto(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"proto/orders/v1/orders.proto": `syntax = "proto3";
package orders.v1;
import "parigot/id/v1/id.proto";
message OrderRef {
  parigot.id.v1.Id order_id = 1;
  repeated parigot.id.v1.Id lines = 2;
}
enum Status { STATUS_UNSPECIFIED = 0; }
`,
	})
	res := mustGenerate(t, Input{
		AppDir: dir, DisplayDir: "app", Module: testModule,
		Sets: []ProtoSet{{Root: "proto", Files: []string{"proto/orders/v1/orders.proto"}}},
	})

	t.Run("an app proto imports it without listing it", func(t *testing.T) {
		got := rel(t, dir, res.Files)
		if want := []string{"gen/orders/v1/orders.pb.go", "gen/orders/v1/orders_vtproto.pb.go"}; !slices.Equal(got, want) {
			t.Errorf("generated %v, want only %v", got, want)
		}
	})
	t.Run("its Go code is parigot's, not regenerated into the app", func(t *testing.T) {
		src, err := os.ReadFile(filepath.Join(dir, "gen", "orders", "v1", "orders.pb.go"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), `"parigot.dev/parigot/proto/parigot/id/v1"`) {
			t.Errorf("orders.pb.go does not import parigot's idv1:\n%s", src)
		}
		vt, err := os.ReadFile(filepath.Join(dir, "gen", "orders", "v1", "orders_vtproto.pb.go"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(vt), `v1 "parigot.dev/parigot/proto/parigot/id/v1"`) {
			t.Errorf("orders_vtproto.pb.go does not import parigot's idv1 under the name it uses:\n%s", vt)
		}
		if _, err := os.Stat(filepath.Join(dir, "gen", "parigot")); err == nil {
			t.Error("the shipped proto was generated into the app")
		}
	})
	t.Run("the result lists the generated Go types", func(t *testing.T) {
		names := map[string]string{}
		for _, gt := range res.Types {
			names[gt.ProtoName] = gt.GoName
		}
		if names["orders.v1.OrderRef"] != "OrderRef" || names["orders.v1.Status"] != "Status" || len(names) != 2 {
			t.Errorf("Types = %+v", res.Types)
		}
	})
}

func TestShippedGoogleAPIAnnotations(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"proto/books/v1/books.proto": `syntax = "proto3";
package books.v1;
import "google/api/annotations.proto";
message GetBookRequest { string id = 1; }
message Book { string id = 1; string title = 2; }
service Books {
  rpc GetBook(GetBookRequest) returns (Book) {
    option (google.api.http) = { get: "/v1/books/{id}" };
  }
}
`,
	})
	res := mustGenerate(t, Input{
		AppDir: dir, DisplayDir: "app", Module: testModule,
		Sets: []ProtoSet{{Root: "proto", Files: []string{"proto/books/v1/books.proto"}}},
	})
	t.Run("an app proto imports them with nothing downloaded", func(t *testing.T) {
		for _, f := range rel(t, dir, res.Files) {
			if strings.Contains(f, "google") {
				t.Errorf("google/api was generated into the app: %s", f)
			}
		}
	})
	t.Run("its Go code imports genproto's annotations package", func(t *testing.T) {
		src, err := os.ReadFile(filepath.Join(dir, "gen", "books", "v1", "books.pb.go"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), `"google.golang.org/genproto/googleapis/api/annotations"`) {
			t.Errorf("books.pb.go does not import genproto's annotations:\n%s", src)
		}
	})
}
