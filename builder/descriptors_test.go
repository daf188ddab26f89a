package builder

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	"parigot.dev/parigot/internal/progress"
)

func TestTheBuildWritesTheAppsDescriptorsForTheGateway(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"parigot.hcl": shopHeader + `
proto "books" {
  root  = "proto"
  files = ["proto/books/v1/books.proto"]
}
service "books" {
  source     = "./books"
  implements = ["books.v1.Books"]
}
`,
		"proto/books/v1/books.proto": `syntax = "proto3";
package books.v1;
option go_package = "example.com/shop/gen/books/v1;booksv1";
import "google/api/annotations.proto";
import "google/protobuf/timestamp.proto";
message GetBookRequest { string id = 1; }
message Book { string id = 1; google.protobuf.Timestamp published = 2; }
service Books {
  rpc GetBook(GetBookRequest) returns (Book) {
    option (google.api.http) = { get: "/v1/books/{id}" };
  }
}
`,
	}
	writeFiles(t, dir, files)
	// What Build does before it compiles the guests (which this app has
	// no source for).
	app, err := loadForCode(dir, progress.New(nil, false))
	if err != nil {
		t.Fatal(rendered(err))
	}
	gen, unlock, err := lockAndGenerate(context.Background(), app, dir, progress.New(nil, false))
	if err != nil {
		t.Fatal(rendered(err))
	}
	unlock()
	if err := writeDescriptors(app, gen); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, BuildDir, DescriptorsFile))
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	t.Run("they hold the app's files and all they import, so they resolve alone", func(t *testing.T) {
		reg, err := protodesc.NewFiles(&set)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reg.FindDescriptorByName("books.v1.Books.GetBook"); err != nil {
			t.Error(err)
		}
		if _, err := reg.FindFileByPath("google/api/http.proto"); err != nil {
			t.Error(err)
		}
	})
	t.Run("they carry no source information", func(t *testing.T) {
		for _, f := range set.File {
			if f.SourceCodeInfo != nil {
				t.Errorf("%s has source information", f.GetName())
			}
		}
	})
}

// TestAnAppWithoutProtosGetsEmptyDescriptors: the dashboard's explorer
// reads the descriptors of every app run with --dashboard, protos or not.
func TestAnAppWithoutProtosGetsEmptyDescriptors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"parigot.hcl": shopHeader + `
program "hello" {
  source = "./hello"
}
`})
	app, err := loadForCode(dir, progress.New(nil, false))
	if err != nil {
		t.Fatal(rendered(err))
	}
	gen, unlock, err := lockAndGenerate(context.Background(), app, dir, progress.New(nil, false))
	if err != nil {
		t.Fatal(rendered(err))
	}
	unlock()
	if err := writeDescriptors(app, gen); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, BuildDir, DescriptorsFile))
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil || len(set.File) != 0 {
		t.Errorf("descriptors of an app without protos: %d files, %v; want an empty set", len(set.File), err)
	}
}

// TestDescriptorsCompileTheProtosAndWriteNothing: parigot state reads
// stored messages with the descriptors of an app never built, whose
// manifest names a service no proto defines yet, and leaves its
// directory as it was.
func TestDescriptorsCompileTheProtosAndWriteNothing(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"parigot.hcl": shopHeader + `
proto "stock" {
  root  = "proto"
  files = ["proto/stock/v1/stock.proto"]
}
service "stock" {
  source     = "./stock"
  implements = ["stock.v1.Warehouse"]
}
`,
		"proto/stock/v1/stock.proto": `syntax = "proto3";
package stock.v1;
option go_package = "example.com/shop/gen/stock/v1;stockv1";
import "google/protobuf/wrappers.proto";
message StockLevel { string sku = 1; google.protobuf.Int64Value count = 2; }
`,
	})
	before, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	app, err := LoadDeclared(dir)
	if err != nil {
		t.Fatal(rendered(err))
	}
	set, err := Descriptors(context.Background(), app, dir)
	if err != nil {
		t.Fatal(rendered(err))
	}
	reg, err := protodesc.NewFiles(set)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.FindDescriptorByName("stock.v1.StockLevel"); err != nil {
		t.Error(err)
	}
	if _, err := reg.FindDescriptorByName("google.protobuf.Int64Value"); err != nil {
		t.Error(err)
	}
	after, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("the app's directory after Descriptors: %v, want it as it was: %v", after, before)
	}
}
